package dev.peco4j.nn;

import dev.peco4j.tensor.Generator;

/** A module that draws random numbers in forward; {@link Module#setGenerator} hands it its stream. */
public interface Stochastic {
    void generator(Generator gen);
}
