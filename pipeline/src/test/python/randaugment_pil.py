#!/usr/bin/env python3
"""Golden outputs of PIL's RandAugment ops (Pillow 9.4.0, as timm applies them) on a 16x16 8-bit image.

    /usr/bin/python3 pipeline/src/test/python/randaugment_pil.py > pipeline/src/test/resources/fixtures/randaugment_pil.txt

Each line: op name, then the 256 output levels. Magnitude 9 of 10 (BEiT's m9) with the sign +1 or as noted:
posterize to 4 - int(4 * 0.9) = 1 bit, solarize from 256 - int(256 * 0.9) = 26, solarize-add int(110 * 0.9) = 99,
enhance factors 1 + 0.81 (brightness 1 - 0.81), shear 0.27, translate -0.405 of the height, rotate 27 degrees; bilinear, fill 73.
"""
import random

from PIL import Image, ImageEnhance, ImageOps

random.seed(3)
w = h = 16
img = Image.new('L', (w, h))
img.putdata([min(255, max(0, int(random.gauss(110, 60)))) for _ in range(w * h)])


def out(name, im):
    print(name, ','.join(str(v) for v in im.getdata()))


out('src', img)
out('AUTO_CONTRAST', ImageOps.autocontrast(img))
out('EQUALIZE', ImageOps.equalize(img))
out('INVERT', ImageOps.invert(img))
out('POSTERIZE', ImageOps.posterize(img, 1))
out('SOLARIZE', ImageOps.solarize(img, 26))
out('SOLARIZE_ADD', img.point([min(255, i + 99) if i < 128 else i for i in range(256)]))
out('CONTRAST', ImageEnhance.Contrast(img).enhance(1.81))
out('BRIGHTNESS', ImageEnhance.Brightness(img).enhance(0.19))
out('SHARPNESS', ImageEnhance.Sharpness(img).enhance(1.81))
out('SHEAR_X', img.transform(img.size, Image.AFFINE, (1, 0.27, 0, 0, 1, 0), resample=Image.BILINEAR, fillcolor=73))
out('TRANSLATE_Y', img.transform(img.size, Image.AFFINE, (1, 0, 0, 0, 1, -0.405 * 16), resample=Image.BILINEAR, fillcolor=73))
out('ROTATE', img.rotate(27, resample=Image.BILINEAR, fillcolor=73))

# RGB: the ops that differ from the one-channel case (the luma blend of Color, the luma mean of Contrast, a fill per
# channel); each line the R, G and B planes one after the other (the project's channel-major layout)
rgb = Image.new('RGB', (w, h))
rgb.putdata([tuple(min(255, max(0, int(random.gauss(110, 60)))) for _ in range(3)) for _ in range(w * h)])


def out_rgb(name, im):
    print('rgb:' + name, ','.join(str(px[c]) for c in range(3) for px in im.getdata()))


out_rgb('src', rgb)
out_rgb('COLOR', ImageEnhance.Color(rgb).enhance(1.81))
out_rgb('CONTRAST', ImageEnhance.Contrast(rgb).enhance(1.81))
out_rgb('ROTATE', rgb.rotate(27, resample=Image.BILINEAR, fillcolor=(73, 20, 200)))
