package io.ultralong.evaluation.haystack;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Builds haystacks of an exact token length from the filler corpus, with insertions at chosen depths.
 *
 * <p>Lengths are in the model's tokens, counted record by record as the platform holds them. The
 * filler is whole sentences (one record each) while they fit, then the longest word prefix of the
 * next sentence that fits the remaining gap, so a haystack lands a few tokens short of its target
 * at most. Insertions go between filler records, at the boundary whose offset is nearest their
 * depth, so a needle is placed to within one filler sentence.
 */
public final class HaystackBuilder {

    private final FillerCorpus corpus;
    private final TokenCounter counter;

    public HaystackBuilder(FillerCorpus corpus, TokenCounter counter) {
        this.corpus = corpus;
        this.counter = counter;
    }

    /**
     * A haystack of {@code targetTokens} context tokens holding {@code insertions}; the filler order
     * depends only on {@code seed}, so haystacks of one seed share their prefix.
     */
    public Haystack build(long targetTokens, List<Insertion> insertions, long seed) {
        int[] insertionTokens = insertions.stream().mapToInt(i -> counter.recordTokens(i.text())).toArray();
        long insertedTotal = Arrays.stream(insertionTokens).asLongStream().sum();
        long fillerBudget = targetTokens - insertedTotal;
        if (fillerBudget <= 0) {
            throw new IllegalArgumentException("The insertions alone take " + insertedTotal
                    + " tokens; the target is " + targetTokens);
        }
        List<String> filler = new ArrayList<>();
        List<Integer> fillerTokens = new ArrayList<>();
        long fillerTotal = fill(fillerBudget, corpus.stream(seed), filler, fillerTokens);
        int maxFiller = fillerTokens.stream().mapToInt(Integer::intValue).max().orElse(0);

        // Token offset of each boundary between filler records: offsets[j] = tokens of filler[0..j).
        long[] offsets = new long[filler.size() + 1];
        for (int j = 0; j < filler.size(); j++) {
            offsets[j + 1] = offsets[j] + fillerTokens.get(j);
        }
        long total = fillerTotal + insertedTotal;

        // Place in depth order (stable, so insertions of equal depth keep their given order: a
        // variable chain's assignments must stay in sequence).
        Integer[] order = new Integer[insertions.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingDouble(i -> insertions.get(i).depth()));
        int[] boundary = new int[insertions.size()];
        long[] before = new long[insertions.size()];
        int lowestBoundary = 0;
        long insertedSoFar = 0;
        for (int i : order) {
            long wantedBefore = Math.round(insertions.get(i).depth() * (total - insertionTokens[i]));
            int j = nearestBoundary(offsets, wantedBefore - insertedSoFar, lowestBoundary);
            boundary[i] = j;
            before[i] = offsets[j] + insertedSoFar;
            insertedSoFar += insertionTokens[i];
            lowestBoundary = j;
        }

        List<String> records = new ArrayList<>(filler.size() + insertions.size());
        int[] recordTokens = new int[filler.size() + insertions.size()];
        int[] recordIndex = new int[insertions.size()];
        for (int j = 0; j <= filler.size(); j++) {
            for (int i : order) {
                if (boundary[i] == j) {
                    recordIndex[i] = records.size();
                    recordTokens[records.size()] = insertionTokens[i];
                    records.add(insertions.get(i).text());
                }
            }
            if (j < filler.size()) {
                recordTokens[records.size()] = fillerTokens.get(j);
                records.add(filler.get(j));
            }
        }
        List<Haystack.Placement> placements = new ArrayList<>();
        for (int i = 0; i < insertions.size(); i++) {
            long rest = total - insertionTokens[i];
            placements.add(new Haystack.Placement(insertions.get(i), recordIndex[i], before[i], insertionTokens[i],
                    rest == 0 ? 0 : (double) before[i] / rest));
        }
        return new Haystack(List.copyOf(records), recordTokens, total, List.copyOf(placements), maxFiller);
    }

    private long fill(long budget, FillerCorpus.SentenceStream sentences, List<String> filler, List<Integer> tokens) {
        long total = 0;
        while (true) {
            String sentence = sentences.peek();
            int count = counter.recordTokens(sentence);
            if (total + count <= budget) {
                filler.add(sentences.next());
                tokens.add(count);
                total += count;
                continue;
            }
            String prefix = longestFittingPrefix(sentence, budget - total);
            if (prefix != null) {
                int prefixCount = counter.recordTokens(prefix);
                filler.add(prefix);
                tokens.add(prefixCount);
                total += prefixCount;
            }
            return total;
        }
    }

    /** The longest word prefix of {@code sentence} that takes at most {@code gap} tokens, or null. */
    private String longestFittingPrefix(String sentence, long gap) {
        String[] words = sentence.split(" ");
        // Token counts grow with the prefix (BPE can merge across a boundary, so not strictly; the
        // chosen prefix is checked against the gap anyway).
        int low = 0;
        int high = words.length - 1;
        String best = null;
        while (low < high) {
            int mid = (low + high + 1) / 2;
            String candidate = String.join(" ", Arrays.copyOf(words, mid));
            if (counter.recordTokens(candidate) <= gap) {
                best = candidate;
                low = mid;
            } else {
                high = mid - 1;
            }
        }
        return best;
    }

    /** The boundary at or after {@code lowest} whose offset is nearest {@code wanted}. */
    private static int nearestBoundary(long[] offsets, long wanted, int lowest) {
        int index = Arrays.binarySearch(offsets, lowest, offsets.length, wanted);
        if (index >= 0) {
            return index;
        }
        int insertionPoint = -index - 1;
        if (insertionPoint <= lowest) {
            return lowest;
        }
        if (insertionPoint >= offsets.length) {
            return offsets.length - 1;
        }
        return wanted - offsets[insertionPoint - 1] <= offsets[insertionPoint] - wanted ? insertionPoint - 1 : insertionPoint;
    }
}
