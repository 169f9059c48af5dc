"""Benchmarks: throughput, latency and memory, measured, never asserted."""
