package dev.peco4j.peco.data;

import dev.peco4j.tensor.Generator;
import java.util.List;

/**
 * An image transform, as torchvision's: deterministic ones ignore the generator; random ones draw
 * from it. The loader gives every sample its own generator, derived from (seed, epoch, index), so
 * augmentations do not depend on the thread that runs them, and a resumed run repeats them exactly.
 *
 * <pre>{@code
 * Transform train = Transform.compose(Transforms.pad(2), Transforms.randomCrop(32, 2),
 *         Transforms.randomHorizontalFlip(0.5), Transforms.normalize(0.2860, 0.3530));
 * }</pre>
 */
@FunctionalInterface
public interface Transform {
    Image apply(Image image, Generator gen);

    static Transform identity() {
        return (img, g) -> img;
    }

    static Transform compose(Transform... steps) {
        List<Transform> list = List.of(steps);
        return (img, g) -> {
            for (Transform t : list) img = t.apply(img, g);
            return img;
        };
    }
}
