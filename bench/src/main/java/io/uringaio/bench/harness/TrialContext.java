package io.uringaio.bench.harness;

import java.nio.file.Path;

/** What every trial of one run shares: the file, the timing, the seed, where progress goes. */
public record TrialContext(Path file, long fileBytes, double warmupSeconds, double measureSeconds, long seed,
                           Progress progress) {
}
