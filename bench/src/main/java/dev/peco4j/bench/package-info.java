/**
 * JMH benchmarks and side-by-side comparisons with PyTorch on the CPU; they arrive with the fast
 * kernels issue. Performance is measured here, never asserted in tests.
 */
package dev.peco4j.bench;
