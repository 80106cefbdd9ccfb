package io.ultralong.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.DBOptions;
import org.rocksdb.RocksDB;

/** The RocksDB JNI library loads from its Maven jar and keeps two column families apart across a reopen. */
class RocksDbNativeTest {

    @TempDir
    Path dir;

    @Test
    void twoColumnFamiliesSurviveReopen() throws Exception {
        RocksDB.loadLibrary();
        write();
        List<ColumnFamilyHandle> handles = new ArrayList<>();
        try (DBOptions options = new DBOptions();
             RocksDB db = RocksDB.open(options, dir.toString(), descriptors(), handles)) {
            assertThat(db.get(handles.get(1), "k".getBytes(UTF_8))).isEqualTo("tokens".getBytes(UTF_8));
            assertThat(db.get(handles.get(0), "k".getBytes(UTF_8))).isEqualTo("default".getBytes(UTF_8));
            handles.forEach(ColumnFamilyHandle::close);
        }
    }

    private void write() throws Exception {
        List<ColumnFamilyHandle> handles = new ArrayList<>();
        try (DBOptions options = new DBOptions().setCreateIfMissing(true).setCreateMissingColumnFamilies(true);
             RocksDB db = RocksDB.open(options, dir.toString(), descriptors(), handles)) {
            db.put(handles.get(0), "k".getBytes(UTF_8), "default".getBytes(UTF_8));
            db.put(handles.get(1), "k".getBytes(UTF_8), "tokens".getBytes(UTF_8));
            handles.forEach(ColumnFamilyHandle::close);
        }
    }

    private static List<ColumnFamilyDescriptor> descriptors() {
        return List.of(new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY),
                new ColumnFamilyDescriptor("tokens".getBytes(UTF_8)));
    }
}
