package dev.peco4j.peco.cli;

import picocli.CommandLine.Option;

/** A run's length in steps instead of epochs, as BEiT's and Hugging Face's max steps (a picocli mixin of pretrain and finetune). */
final class StepOptions {
    @Option(names = "--steps", defaultValue = "0", description = "Train this many steps instead of --epochs; the last epoch may end early (default 0: --epochs).")
    long steps;

    @Option(names = "--warmup-steps", defaultValue = "-1", description = "Warm-up in steps when > 0, instead of --warmup-epochs (as BEiT's; default -1: --warmup-epochs).")
    long warmupSteps;
}
