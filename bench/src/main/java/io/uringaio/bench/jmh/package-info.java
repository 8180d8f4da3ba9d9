/**
 * JMH microbenchmarks: the per-operation cost of each API on the same 4 KiB workloads, with {@code -prof gc} to prove
 * allocation. Every benchmark reads the same file ({@code bench-results/bench-256MiB.dat}, created once and reused)
 * at the same offsets ({@link io.uringaio.bench.jmh.BenchmarkFile}).
 * <ul>
 *   <li>{@link io.uringaio.bench.jmh.EngineRandomReadBenchmark}: the engine's raw requests and {@code AsyncFile}
 *       (direct buffers, and heap buffers through the bounce pool: {@code asyncFileHeapBatch}).</li>
 *   <li>{@link io.uringaio.bench.jmh.FacadeRandomReadBenchmark}: {@code aio_read}/{@code aio_suspend} and
 *       {@code lio_listio} of 32 against the engine's raw API, pair by pair (issue 4).</li>
 *   <li>{@link io.uringaio.bench.jmh.BackendWorkloadBenchmark}: cached read, O_DIRECT read and write + fdatasync at
 *       queue depth 32 on {@code IO_URING} and {@code THREAD_POOL} (issue 5).</li>
 *   <li>{@link io.uringaio.bench.jmh.FileChannelRandomReadBenchmark}: the blocking pread baseline, 32 threads.</li>
 * </ul>
 * All the per-op costs of issue 6 in one command:
 * <pre>
 * ./uring-aio jmh 'Facade|Backend|EngineRandomRead' -prof gc
 * </pre>
 * and the issue 4 and 5 tables (about 5 minutes):
 * <pre>
 * ./uring-aio jmh 'FacadeRandomRead|BackendWorkload' -f 1 -wi 3 -w 2s -i 5 -r 2s -prof gc
 * </pre>
 * Batched benchmarks declare {@code @OperationsPerInvocation(32)}: ops/s counts I/O operations and
 * {@code gc.alloc.rate.norm} is bytes per operation. On a VM without hardware counters,
 * {@code -prof "perfnorm:events=context-switches,task-clock"} gives context switches and CPU milliseconds per op.
 */
package io.uringaio.bench.jmh;
