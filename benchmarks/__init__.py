"""archbench.benchmarks"""
