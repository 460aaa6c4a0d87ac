#version 330
// #include lighting.glsl (prepended by the loader)
// Iris, limbus and pupil are painted by the distance from the eye's axis, so the
// painted iris is centred exactly where the gaze rotation puts it (the mesh's
// UVs are not centred on ICT's cornea axis: up to 2 px off, differently per face).
uniform float u_iris_radius;   // cm, the limbus
uniform vec3 u_iris_color;
uniform vec3 u_sclera_color;
#ifdef DETAIL
uniform float u_detail;    // > 0: procedural iris fibres (synthetic people only)
#endif
#ifdef REFLEX
uniform vec2 u_reflex_px;  // corneal reflex of a light at the camera, pixels (x right, y down)
uniform float u_reflex;    // its strength
#endif
#ifdef LID_CLIP
// the lid margins as drawn in this frame (gl_FragCoord pixels, ordered along
// the lid): the eyeball shows only between them (synthetic patients)
uniform vec2 u_upper[LID_CLIP];
uniform vec2 u_lower[LID_CLIP];

// The margin's y at x by linear interpolation, or `none` outside its span.
float margin_y(vec2 m[LID_CLIP], float x, float none) {
    for (int i = 0; i < LID_CLIP - 1; ++i) {
        vec2 a = m[i], b = m[i + 1];
        if ((x - a.x) * (x - b.x) <= 0.0 && a.x != b.x)
            return mix(a.y, b.y, (x - a.x) / (b.x - a.x));
    }
    return none;
}
#endif
in vec3 v_eye;
in vec3 v_normal;
out vec4 f_color;
void main() {
#ifdef LID_CLIP
    // half a pixel of slack, so that no sliver of background opens along a margin
    float yu = margin_y(u_upper, gl_FragCoord.x, -1e6);
    float yl = margin_y(u_lower, gl_FragCoord.x, 1e6);
    if (yu > -1e6 && yl < 1e6
            && (gl_FragCoord.y < min(yu, yl) - 0.5 || gl_FragCoord.y > max(yu, yl) + 0.5))
        discard;
#endif
    vec2 d = v_eye.xy;
    // 1.0 at the limbus; the back half of the shell is all sclera
    float r = v_eye.z > 0.0 ? length(d) / u_iris_radius : 2.0;
    vec3 iris = u_iris_color;
#ifdef DETAIL
    float a = atan(d.y, d.x);
    float fibres = 0.5 + 0.5 * sin(a * 37.0 + 3.0 * sin(a * 5.0)) * sin(a * 23.0);
    iris *= 1.0 + u_detail * (0.35 * fibres - 0.15 + 0.25 * smoothstep(0.45, 0.6, r));
#endif
    // darker towards the limbus ring
    iris *= mix(1.0, 0.55, smoothstep(0.75, 0.97, r));
    vec3 c = mix(iris, u_sclera_color, smoothstep(0.97, 1.08, r));
    c = mix(vec3(0.03), c, smoothstep(0.40, 0.45, r));   // pupil
    c = shade(c, v_normal);
#ifdef REFLEX
    // a small bright spot on the cornea; lids in front hide it by depth
    vec2 o = gl_FragCoord.xy - u_reflex_px;
    if (r < 1.3) c = mix(c, vec3(1.0), u_reflex * exp(-dot(o, o) / (2.0 * 0.7 * 0.7)));
#endif
    f_color = vec4(c, 1.0);
}
