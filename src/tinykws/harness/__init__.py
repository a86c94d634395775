"""Layer 10: the benchmark harness. The four MLPerf Tiny benchmarks and tinykws' own
workloads (YAML registries), systems under test (the runtimes of `tinykws.eval.runner`),
accuracy and performance modes, results in the MLPerf Tiny submission layout, the
compliance checker, the autograder, and the host side of the MLPerf Tiny device protocol
(`harness.device`).
"""
