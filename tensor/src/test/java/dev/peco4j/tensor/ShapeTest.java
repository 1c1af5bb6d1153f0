package dev.peco4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ShapeTest {
    @Test
    void basics() {
        Shape s = Shape.of(2, 3, 4);
        assertEquals(24, s.numel());
        assertEquals(4, s.dim(-1));
        assertArrayEquals(new int[] {12, 4, 1}, s.contiguousStrides());
        assertEquals(Shape.of(2, 3, 4), s);
        assertEquals("[2, 3, 4]", s.toString());
        assertEquals(1, Shape.scalar().numel());
        assertEquals(0, Shape.of(2, 0).numel());
        int[] dims = {2, 3};
        Shape t = Shape.of(dims);
        dims[0] = 9;
        assertEquals(2, t.dim(0), "Shape copies its input");
    }

    @Test
    void broadcasting() {
        assertEquals(Shape.of(4, 3, 5), Shape.broadcast(Shape.of(3, 1), Shape.of(4, 1, 5), "t"));
        assertEquals(Shape.of(2), Shape.broadcast(Shape.scalar(), Shape.of(2), "t"));
        assertThrows(IllegalArgumentException.class, () -> Shape.broadcast(Shape.of(3), Shape.of(4), "t"));
    }

    @Test
    void dimsNormalizeSortAndRejectRepeats() {
        assertArrayEquals(new int[] {0, 2}, Shape.of(2, 3, 4).normalizeDims(new int[] {-1, 0}, "t"));
        assertArrayEquals(new int[] {0, 1, 2}, Shape.of(2, 3, 4).normalizeDims(new int[0], "t"));
        assertThrows(IllegalArgumentException.class, () -> Shape.of(2, 3).normalizeDims(new int[] {1, -1}, "t"));
        assertThrows(IllegalArgumentException.class, () -> Shape.of(-1));
    }
}
