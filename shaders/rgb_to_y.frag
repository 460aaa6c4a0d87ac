#version 330
// I420 luma plane. The target is an RGBA8 image W/4 wide, so each fragment
// writes four consecutive Y bytes (4x fewer fragments; read back as bytes the
// image is the I420 buffer: Y plane, then U, then V, like
// cv2.COLOR_RGB2YUV_I420). Drawn over rows 0..H-1 only. BT.601 limited range.
uniform sampler2D u_rgb;   // row 0 = top image row
out vec4 f_bytes;

const vec3 KY = vec3(0.256788, 0.504129, 0.097906);

void main() {
    ivec2 p = ivec2(int(gl_FragCoord.x) * 4, int(gl_FragCoord.y));
    f_bytes = (16.0 / 255.0) + vec4(dot(texelFetch(u_rgb, p, 0).rgb, KY),
                                    dot(texelFetch(u_rgb, p + ivec2(1, 0), 0).rgb, KY),
                                    dot(texelFetch(u_rgb, p + ivec2(2, 0), 0).rgb, KY),
                                    dot(texelFetch(u_rgb, p + ivec2(3, 0), 0).rgb, KY));
}
