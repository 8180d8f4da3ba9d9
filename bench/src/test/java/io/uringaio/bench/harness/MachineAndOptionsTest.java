package io.uringaio.bench.harness;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

class MachineAndOptionsTest {
    @Test
    void mountIsTheLongestMountPointPrefix() {
        String mounts = """
                /dev/vda / ext4 rw,relatime 0 0
                proc /proc proc rw 0 0
                tmpfs /tmp tmpfs rw 0 0
                /dev/vdb /data/x xfs rw 0 0
                /dev/vdc /data/x\\040y btrfs rw 0 0
                """;
        assertArrayEquals(new String[] {"/dev/vda", "/", "ext4"}, Machine.mountOf("/work/main", mounts));
        assertArrayEquals(new String[] {"tmpfs", "/tmp", "tmpfs"}, Machine.mountOf("/tmp/a", mounts));
        assertArrayEquals(new String[] {"/dev/vdb", "/data/x", "xfs"}, Machine.mountOf("/data/x/f", mounts));
        assertArrayEquals(new String[] {"/dev/vda", "/", "ext4"}, Machine.mountOf("/data/xz", mounts));
        assertArrayEquals(new String[] {"/dev/vdc", "/data/x y", "btrfs"}, Machine.mountOf("/data/x y/f", mounts));
    }

    @Test
    void defaultsQuickAndOverrides() {
        Path root = Path.of("/repo");
        BenchOptions d = BenchOptions.parse(new String[0], root);
        assertEquals(1024, d.sizeMiB());
        assertEquals(5, d.seconds());
        assertEquals(Path.of("/repo/bench-results/bench-1024MiB.dat"), d.file());
        assertTrue(d.out().startsWith(Path.of("/repo/bench-results")));
        BenchOptions q = BenchOptions.parse(new String[] {"--quick"}, root);
        assertEquals(64, q.sizeMiB());
        assertEquals(2, q.seconds());
        assertEquals(0.5, q.warmupSeconds());
        BenchOptions o = BenchOptions.parse(new String[] {"--quick", "--size", "16", "--seconds", "0.5", "--out", "/o",
                "--file", "/f", "--only", "glibc-aio", "--workloads", "randwrite-qd32"}, root);
        assertEquals(16, o.sizeMiB());
        assertEquals(0.5, o.seconds());
        assertEquals(Path.of("/o"), o.out());
        assertEquals(Path.of("/f"), o.file());
        assertEquals("glibc-aio", o.only());
        assertEquals(1, o.rounds());
        assertEquals(3, BenchOptions.parse(new String[] {"--rounds", "3"}, root).rounds());
        assertNull(assertThrows(BenchOptions.UsageException.class,
                () -> BenchOptions.parse(new String[] {"--help"}, root)).getMessage());
        assertThrows(BenchOptions.UsageException.class, () -> BenchOptions.parse(new String[] {"--size"}, root));
        assertThrows(BenchOptions.UsageException.class, () -> BenchOptions.parse(new String[] {"--size", "0"}, root));
        assertThrows(BenchOptions.UsageException.class, () -> BenchOptions.parse(new String[] {"--bogus"}, root));
        assertThrows(BenchOptions.UsageException.class,
                () -> BenchOptions.parse(new String[] {"--workloads", "nope"}, root));
    }

    @Test
    void onlySelectsContendersByName() {
        List<Contender> all = BenchMain.contenders();
        assertEquals(18, all.size());
        assertEquals(List.of("engine-percore", "glibc-aio"), BenchOptions.selectContenders(all,
                "glibc-aio,engine-percore").stream().map(Contender::name).toList());
        assertEquals(List.of("jdk-afc", "afc-uring", "filechannel-platform", "filechannel-uring"),
                BenchOptions.selectContenders(all, "filechannel-platform,filechannel-uring,jdk-afc,afc-uring")
                        .stream().map(Contender::name).toList());
        assertThrows(BenchOptions.UsageException.class, () -> BenchOptions.selectContenders(all, "nope"));
    }
}
