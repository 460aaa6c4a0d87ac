#version 330
// I420 chroma planes: the (W/2 x H/2) U plane row-major after the Y plane,
// then V, four bytes per fragment (see rgb_to_y.frag). Drawn over rows
// H..3H/2-1 only. Like cv2.COLOR_RGB2YUV_I420, each 2x2 block takes the
// chroma of its top-left pixel (a separate draw keeps both passes branch-free).
uniform sampler2D u_rgb;
uniform ivec2 u_size;      // W, H
out vec4 f_bytes;

const vec3 KU = vec3(-0.148223, -0.290993, 0.439216);
const vec3 KV = vec3(0.439216, -0.367788, -0.071427);

void main() {
    int w = u_size.x, h = u_size.y;
    int cw = w / 2;
    int plane = cw * (h / 2);
    int b0 = (int(gl_FragCoord.y) - h) * w + int(gl_FragCoord.x) * 4;  // byte after the Y plane
    vec4 v;
#ifdef ALIGNED
    // W % 8 == 0 and the U plane a multiple of 4 bytes: the four bytes are
    // four neighbouring chroma samples of one row of one plane.
    bool is_v = b0 >= plane;
    int i = is_v ? b0 - plane : b0;
    ivec2 q = ivec2(i % cw, i / cw) * 2;
    mat4x3 c = mat4x3(texelFetch(u_rgb, q, 0).rgb,
                      texelFetch(u_rgb, q + ivec2(2, 0), 0).rgb,
                      texelFetch(u_rgb, q + ivec2(4, 0), 0).rgb,
                      texelFetch(u_rgb, q + ivec2(6, 0), 0).rgb);
    v = (is_v ? KV : KU) * c;
#else
    for (int k = 0; k < 4; k++) {
        int b = b0 + k;
        bool is_v = b >= plane;
        int i = is_v ? b - plane : b;
        vec3 c = texelFetch(u_rgb, ivec2(i % cw, i / cw) * 2, 0).rgb;
        v[k] = dot(c, is_v ? KV : KU);
    }
#endif
    f_bytes = (128.0 / 255.0) + v;
}
