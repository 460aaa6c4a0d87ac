#version 330
// #include lighting.glsl (prepended by the loader)
uniform float u_detail;    // 0 = the neutral avatar; > 0 adds skin mottling (synthetic people)
in vec3 v_normal;
in vec3 v_color;
in vec3 v_head_pos;
out vec4 f_color;
void main() {
    vec3 albedo = v_color;
    if (u_detail > 0.0) {
        float n = value_noise(v_head_pos * 3.0) * 0.6 + value_noise(v_head_pos * 11.0) * 0.4;
        albedo *= 1.0 + u_detail * (n - 0.5) * 0.25;
    }
    f_color = vec4(shade(albedo, v_normal), 1.0);
}
