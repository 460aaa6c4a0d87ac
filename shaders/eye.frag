#version 330
// #include lighting.glsl (prepended by the loader)
// Iris, limbus and pupil are painted by UV radius: the shell's UVs are centred
// on the cornea apex, and u_iris_uv is the UV radius of the avatar's limbus.
uniform vec2 u_uv_centre;
uniform float u_iris_uv;
uniform vec3 u_iris_color;
uniform vec3 u_sclera_color;
#ifdef DETAIL
uniform float u_detail;    // > 0: procedural iris fibres (synthetic people only)
#endif
in vec2 v_uv;
in vec3 v_normal;
out vec4 f_color;
void main() {
    vec2 d = v_uv - u_uv_centre;
    float r = length(d) / u_iris_uv;             // 1.0 at the limbus
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
    f_color = vec4(shade(c, v_normal), 1.0);
}
