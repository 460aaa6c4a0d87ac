#version 330
// Pack the RGB frame into I420 planes, byte-for-byte the layout of
// cv2.COLOR_RGB2YUV_I420: Y (H rows of W), then the (W/2 x H/2) U plane
// row-major, then V. The target is an RGBA8 image W/4 wide and H*3/2 tall, so
// each fragment writes four consecutive bytes (4x fewer fragments; reading it
// back as bytes gives the I420 buffer directly).
// BT.601 limited range; chroma from the mean of each 2x2 block, sampled with
// one bilinear fetch at the block centre.
uniform sampler2D u_rgb;   // row 0 = top image row, LINEAR filtering
uniform ivec2 u_size;      // W, H
out vec4 f_bytes;

const vec3 KY = vec3(0.256788, 0.504129, 0.097906);
const vec3 KU = vec3(-0.148223, -0.290993, 0.439216);
const vec3 KV = vec3(0.439216, -0.367788, -0.071427);

void main() {
    ivec2 o = ivec2(gl_FragCoord.xy);
    int w = u_size.x, h = u_size.y;
    int b0 = o.y * w + o.x * 4;                  // first byte this fragment writes
    int ysize = w * h;
    vec4 v;
    if (b0 < ysize) {
        ivec2 p = ivec2(o.x * 4, o.y);
        v = vec4(dot(texelFetch(u_rgb, p, 0).rgb, KY),
                 dot(texelFetch(u_rgb, p + ivec2(1, 0), 0).rgb, KY),
                 dot(texelFetch(u_rgb, p + ivec2(2, 0), 0).rgb, KY),
                 dot(texelFetch(u_rgb, p + ivec2(3, 0), 0).rgb, KY)) * (255.0 / 255.0);
        f_bytes = (16.0 / 255.0) + v;
        return;
    }
    int cw = w / 2;
    int plane = cw * (h / 2);
    vec2 texel = 1.0 / vec2(u_size);
    for (int k = 0; k < 4; k++) {
        int b = b0 + k - ysize;
        bool is_v = b >= plane;
        int i = is_v ? b - plane : b;
        vec2 centre = (vec2(i % cw, i / cw) * 2.0 + 1.0) * texel;   // 2x2 block centre
        vec3 c = texture(u_rgb, centre).rgb;
        v[k] = (128.0 / 255.0) + dot(c, is_v ? KV : KU);
    }
    f_bytes = v;
}
