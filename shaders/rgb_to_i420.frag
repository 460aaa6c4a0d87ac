#version 330
// Pack the RGB frame into I420 planes stacked in one (W, H*3/2) single-channel
// image, byte-for-byte the layout of cv2.COLOR_RGB2YUV_I420: Y rows, then the
// (W/2 x H/2) U plane written row-major into W-wide rows, then V.
// BT.601 limited range, chroma from the mean of each 2x2 block.
uniform sampler2D u_rgb;   // row 0 = top image row
uniform ivec2 u_size;      // W, H
out float f_value;

vec3 rgb_at(ivec2 p) { return texelFetch(u_rgb, p, 0).rgb * 255.0; }

void main() {
    ivec2 o = ivec2(gl_FragCoord.xy);
    int w = u_size.x, h = u_size.y;
    if (o.y < h) {
        vec3 c = rgb_at(o);
        f_value = (16.0 + dot(c, vec3(0.256788, 0.504129, 0.097906))) / 255.0;
        return;
    }
    // byte offset after the Y plane; U then V, each (W/2 x H/2), may split rows
    int cw = w / 2;
    int plane = cw * (h / 2);
    int b = (o.y - h) * w + o.x;
    bool is_v = b >= plane;
    int i = is_v ? b - plane : b;
    ivec2 q = ivec2(i % cw, i / cw) * 2;
    vec3 c = 0.25 * (rgb_at(q) + rgb_at(q + ivec2(1, 0)) + rgb_at(q + ivec2(0, 1))
                     + rgb_at(q + ivec2(1, 1)));
    float v = is_v ? 128.0 + dot(c, vec3(0.439216, -0.367788, -0.071427))
                   : 128.0 + dot(c, vec3(-0.148223, -0.290993, 0.439216));
    f_value = v / 255.0;
}
