// UltraLong Stream operator console: plain JavaScript over the /v1 API, no build step.
// The API key lives in sessionStorage (this tab only) and goes out as "Authorization: Bearer".
'use strict';

const KEY = 'ulApiKey';
const body = document.body;
const authEnabled = body.dataset.auth === 'true';
const $ = (id) => document.getElementById(id);

function flash(message, kind) {
  const el = $('flash');
  el.textContent = message || '';
  el.className = kind || 'error';
  el.hidden = !message;
}

function headers(extra) {
  const h = Object.assign({}, extra || {});
  const key = sessionStorage.getItem(KEY);
  if (key) h['Authorization'] = 'Bearer ' + key;
  return h;
}

class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

async function failure(response) {
  let code = 'http-' + response.status, message = response.statusText;
  try {
    const json = await response.json();
    if (json && json.error) { code = json.error.code; message = json.error.message; }
  } catch (e) { /* not the JSON error shape */ }
  if (response.status === 401 && authEnabled) {
    sessionStorage.removeItem(KEY);
    showLogin(message);
  }
  return new ApiError(response.status, code, message);
}

async function api(path, options) {
  const opts = Object.assign({}, options || {});
  opts.headers = headers(opts.headers);
  const response = await fetch(path, opts);
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return null;
  const type = response.headers.get('Content-Type') || '';
  return type.includes('json') ? response.json() : response.text();
}

// Server-Sent Events over fetch: EventSource cannot send an Authorization header or a POST body.
async function sse(path, options, onEvent, signal, onOpen) {
  const opts = Object.assign({}, options || {}, { signal });
  opts.headers = headers(Object.assign({ 'Accept': 'text/event-stream' }, opts.headers || {}));
  const response = await fetch(path, opts);
  if (!response.ok) throw await failure(response);
  if (onOpen) onOpen();
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '', event = 'message', data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, '');
      buffer = buffer.slice(newline + 1);
      if (line === '') {
        if (data.length) onEvent(event, data.join('\n'));
        event = 'message'; data = [];
      } else if (line.startsWith('event:')) {
        event = line.slice(6).trim();
      } else if (line.startsWith('data:')) {
        data.push(line.slice(5).replace(/^ /, ''));
      }
    }
  }
}

function cell(row, text) {
  const td = document.createElement('td');
  td.textContent = text === undefined || text === null ? '' : String(text);
  row.appendChild(td);
  return td;
}

function when(ms) { return ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : ''; }
function bytes(n) {
  if (!n) return '0 B';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0; while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return n.toFixed(i ? 1 : 0) + ' ' + units[i];
}
function sessionPath(id) { return '/v1/sessions/' + encodeURIComponent(id); }

function showLogin(message) {
  $('main').hidden = true;
  $('login').hidden = false;
  $('logout').hidden = true;
  $('login-error').textContent = message || '';
}

async function login(event) {
  event.preventDefault();
  sessionStorage.setItem(KEY, $('api-key').value.trim());
  try {
    await api('/v1/models');
    location.reload();
  } catch (e) {
    sessionStorage.removeItem(KEY);
    showLogin(e.message);
  }
}

// ---- sessions page
const PAGE_SIZE = 25;
let listOffset = 0;

async function loadSessions() {
  const q = $('search').value.trim();
  const page = await api('/v1/sessions?offset=' + listOffset + '&limit=' + PAGE_SIZE + '&q=' + encodeURIComponent(q));
  const tbody = document.querySelector('#sessions tbody');
  tbody.replaceChildren();
  for (const s of page.data) {
    const row = document.createElement('tr');
    const link = document.createElement('a');
    link.href = '/console/sessions/' + encodeURIComponent(s.id);
    link.textContent = s.id;
    cell(row, '').appendChild(link);
    [s.records, s.tokens, s.lastSeq, s.cachedTokens, s.kvLocation || '–', s.partition, s.worker, when(s.updatedAt)].forEach(v => cell(row, v));
    tbody.appendChild(row);
  }
  const last = Math.min(page.total, listOffset + page.data.length);
  let info = page.total ? (listOffset + 1) + '–' + last + ' of ' + page.total : 'No sessions';
  if (page.partitionsAnswered < page.partitions) {
    info += ' (' + (page.partitions - page.partitionsAnswered) + ' of ' + page.partitions + ' partitions did not answer)';
  }
  $('page-info').textContent = info;
  $('prev-page').disabled = listOffset === 0;
  $('next-page').disabled = last >= page.total;
}

function sessionsPage() {
  $('search-form').addEventListener('submit', e => { e.preventDefault(); listOffset = 0; loadSessions().catch(e => flash(e.message)); });
  $('prev-page').addEventListener('click', () => { listOffset = Math.max(0, listOffset - PAGE_SIZE); loadSessions().catch(e => flash(e.message)); });
  $('next-page').addEventListener('click', () => { listOffset += PAGE_SIZE; loadSessions().catch(e => flash(e.message)); });
  $('create-form').addEventListener('submit', async e => {
    e.preventDefault();
    const id = $('new-session-id').value.trim();
    try {
      const created = await api('/v1/sessions', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(id ? { id } : {}) });
      location.href = '/console/sessions/' + encodeURIComponent(created.id);
    } catch (err) { flash(err.message); }
  });
  loadSessions().catch(e => flash(e.message));
}

// ---- session page
let lastTailSeq = -1;

async function loadStats(id) {
  try {
    const s = await api(sessionPath(id));
    if ($('flash').dataset.missing === 'true') { flash(''); $('flash').dataset.missing = ''; }
    const stats = $('stats');
    stats.replaceChildren();
    const figures = [['records', s.records], ['tokens', s.tokens], ['last seq', s.lastSeq], ['applied seq', s.appliedSeq],
      ['cached tokens', s.cachedTokens], ['partition', s.partition], ['updated', when(s.updatedAt)]];
    for (const [name, value] of figures) {
      const dt = document.createElement('dt'); dt.textContent = name;
      const dd = document.createElement('dd'); dd.textContent = value; dd.dataset.figure = name.replace(/ /g, '-');
      stats.append(dt, dd);
    }
    return s;
  } catch (e) {
    if (e.status === 404) {
      // Also what a session created a moment ago says until its first record is applied.
      flash(e.message + ' A new session appears once its first record is applied.');
      $('flash').dataset.missing = 'true';
      $('stats').replaceChildren();
      return null;
    }
    throw e;
  }
}

async function tailRecords(id) {
  const page = await api(sessionPath(id) + '/records?limit=50&afterSeq=' + lastTailSeq);
  const list = $('records');
  for (const r of page.data) {
    const li = document.createElement('li');
    li.dataset.seq = r.seq;
    const seq = document.createElement('span'); seq.className = 'seq'; seq.textContent = '#' + r.seq;
    const text = document.createElement('span'); text.className = 'text';
    text.textContent = r.deleted ? '(session deleted)' : r.text;
    li.append(seq, text);
    if (r.source) { const src = document.createElement('span'); src.className = 'source'; src.textContent = r.source; li.append(src); }
    list.appendChild(li);
    lastTailSeq = Math.max(lastTailSeq, r.seq);
    if (!r.deleted) {
      const option = document.createElement('option');
      option.value = r.seq; option.textContent = 'seq ' + r.seq;
      $('as-of-seq').appendChild(option);
    }
  }
  while (list.children.length > 50) list.removeChild(list.firstChild);
  $('tail-state').textContent = 'live';
}

async function ask(id, event) {
  event.preventDefault();
  const request = { question: $('question').value, maxTokens: Number($('max-tokens').value) || 64 };
  const asOf = $('as-of-seq').value;
  if (asOf !== '') request.asOfSeq = Number(asOf);
  const answer = $('answer');
  answer.textContent = '';
  answer.dataset.state = 'streaming';
  $('usage').replaceChildren();
  $('prefill').value = 0;
  $('prefill-text').textContent = '';
  $('ask').disabled = true;
  const started = performance.now();
  let firstToken = null;
  try {
    await sse(sessionPath(id) + '/query', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(request) }, (name, data) => {
      const ev = JSON.parse(data);
      if (name === 'progress') {
        $('prefill').max = Math.max(1, ev.total);
        $('prefill').value = ev.prefilled;
        $('prefill-text').textContent = ev.prefilled + ' / ' + ev.total + ' tokens';
      } else if (name === 'token') {
        if (firstToken === null) firstToken = performance.now() - started;
        answer.textContent += ev.text;
        answer.dataset.tokens = String(Number(answer.dataset.tokens || 0) + 1);
      } else if (name === 'done') {
        $('prefill').value = $('prefill').max;
        const u = ev.usage || {}, t = ev.timings || {};
        const usage = [['cached', u.cachedTokens], ['prefilled', u.prefilledTokens], ['generated', u.completionTokens],
          ['context', u.contextTokens], ['TTFT (worker)', (t.timeToFirstTokenMs ?? '') + ' ms'],
          ['TTFT (browser)', firstToken === null ? '' : Math.round(firstToken) + ' ms'], ['finish', ev.finishReason]];
        for (const [k, v] of usage) {
          const dt = document.createElement('dt'); dt.textContent = k;
          const dd = document.createElement('dd'); dd.textContent = v; dd.dataset.figure = k.split(' ')[0].toLowerCase();
          $('usage').append(dt, dd);
        }
        answer.dataset.state = 'done';
      } else if (name === 'error') {
        answer.dataset.state = 'error';
        flash(ev.error ? ev.error.message : data);
      }
    });
  } catch (e) {
    answer.dataset.state = 'error';
    flash(e.message);
  } finally {
    $('ask').disabled = false;
  }
}

async function append(id, event) {
  event.preventDefault();
  const text = $('append-text').value;
  try {
    const r = await api(sessionPath(id) + '/records', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: text });
    $('append-result').textContent = r.count + ' appended (seq ' + r.firstSeq + '–' + r.lastSeq + ')';
    $('append-text').value = '';
    await tailRecords(id);
  } catch (e) { flash(e.message); }
}

const watchStreams = new Map();

function followWatch(id, watch, row) {
  if (watchStreams.has(watch.id)) { row.dataset.live = 'true'; return; }
  const controller = new AbortController();
  watchStreams.set(watch.id, controller);
  sse(sessionPath(id) + '/watches/' + encodeURIComponent(watch.id) + '/events', {}, (name, data) => {
    if (name !== 'answer') return;
    const ev = JSON.parse(data);
    const li = document.createElement('li');
    li.className = 'watch-answer';
    li.dataset.watch = ev.watchId;
    const head = document.createElement('span'); head.className = 'seq';
    head.textContent = ev.watchId + ' @ seq ' + ev.coveredSeq;
    const text = document.createElement('span'); text.className = 'text'; text.textContent = ev.answer;
    li.append(head, text);
    $('watch-answers').prepend(li);
  }, controller.signal, () => { row.dataset.live = 'true'; }).catch(e => { if (e.name !== 'AbortError') flash(e.message); });
}

async function loadWatches(id) {
  const watches = await api(sessionPath(id) + '/watches');
  const tbody = document.querySelector('#watches tbody');
  tbody.replaceChildren();
  for (const w of watches.data) {
    const row = document.createElement('tr');
    row.dataset.watch = w.id;
    [w.id, w.question, 'every ' + w.trigger.everyTokens + ' tokens, ≥' + w.trigger.minIntervalSeconds + ' s', w.notifyWhen || '']
      .forEach(v => cell(row, v));
    const button = document.createElement('button');
    button.type = 'button'; button.textContent = 'Delete'; button.className = 'delete-watch';
    button.addEventListener('click', async () => {
      try {
        await api(sessionPath(id) + '/watches/' + encodeURIComponent(w.id), { method: 'DELETE' });
        const stream = watchStreams.get(w.id);
        if (stream) { stream.abort(); watchStreams.delete(w.id); }
        await loadWatches(id);
      } catch (e) { flash(e.message); }
    });
    cell(row, '').appendChild(button);
    tbody.appendChild(row);
    followWatch(id, w, row);
  }
}

async function createWatch(id, event) {
  event.preventDefault();
  const request = { question: $('watch-question').value, trigger: {} };
  const every = Number($('watch-every').value);
  if (every) request.trigger.everyTokens = every;   // absent: the gateway's minimum (ul.limits.min-every-tokens)
  const notify = $('watch-notify').value.trim();
  if (notify) request.notifyWhen = notify;
  try {
    await api(sessionPath(id) + '/watches', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(request) });
    $('watch-question').value = '';
    await loadWatches(id);
  } catch (e) { flash(e.message); }
}

function sessionPage() {
  const id = $('session').dataset.sessionId;
  $('ask-form').addEventListener('submit', e => ask(id, e));
  $('append-form').addEventListener('submit', e => append(id, e));
  $('watch-form').addEventListener('submit', e => createWatch(id, e));
  $('delete-session').addEventListener('click', () => $('delete-dialog').showModal());
  $('delete-cancel').addEventListener('click', () => $('delete-dialog').close());
  $('delete-confirm').addEventListener('click', async () => {
    $('delete-dialog').close();
    try {
      await api(sessionPath(id), { method: 'DELETE' });
      flash('Session ' + id + ' is being deleted.', 'notice');
    } catch (e) { flash(e.message); }
  });
  loadStats(id).catch(e => flash(e.message));
  loadWatches(id).catch(e => flash(e.message));
  const tick = () => tailRecords(id).catch(() => { $('tail-state').textContent = 'paused'; });
  tick();
  setInterval(tick, 2000);
  setInterval(() => loadStats(id).catch(() => {}), 5000);
}

// ---- workers page
async function workersPage() {
  const workers = await api('/v1/workers');
  const tbody = document.querySelector('#workers tbody');
  tbody.replaceChildren();
  for (const w of workers.data) {
    const row = document.createElement('tr');
    [w.workerId, w.partitions.join(', '), w.queueDepth, bytes(w.kvMemoryBytes), w.device + ' / ' + w.kvTier,
      w.prefillTokensPerSecond.toFixed(1), w.decodeTokensPerSecond.toFixed(1),
      w.model + (w.demoModel ? ' (demo)' : ''), w.licence].forEach(v => cell(row, v));
    tbody.appendChild(row);
  }
  $('workers-summary').textContent = workers.data.length + ' worker(s) own ' + workers.partitionsOwned + ' of '
    + workers.partitions + ' partitions';
}

// ---- reports page
async function reportsPage() {
  const reports = await api('/v1/reports');
  const list = $('reports');
  list.replaceChildren();
  $('reports-summary').textContent = !reports.configured ? 'No reports directory is configured (ul.console.reports-dir).'
    : reports.data.length ? '' : 'No evaluation reports yet.';
  for (const run of reports.data) {
    const li = document.createElement('li');
    const link = document.createElement('a');
    link.href = '#'; link.textContent = (run.name === '_' ? 'report' : run.name) + ' (' + when(run.modifiedAt) + ')';
    link.addEventListener('click', async e => {
      e.preventDefault();
      // Fetched with the API key, shown from a blob: the report is self-contained HTML.
      const html = await api('/v1/reports/' + encodeURIComponent(run.name));
      const frame = $('report-frame');
      frame.src = URL.createObjectURL(new Blob([html], { type: 'text/html' }));
      frame.hidden = false;
    });
    li.appendChild(link);
    list.appendChild(li);
  }
}

function start() {
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', () => { sessionStorage.removeItem(KEY); location.reload(); });
  if (authEnabled && !sessionStorage.getItem(KEY)) {
    showLogin('');
    return;
  }
  $('main').hidden = false;
  $('logout').hidden = !authEnabled;
  const pages = { sessions: () => $('session') ? sessionPage() : sessionsPage(), workers: workersPage, reports: reportsPage };
  Promise.resolve(pages[body.dataset.page]()).catch(e => flash(e.message));
}

start();
