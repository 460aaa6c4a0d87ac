#version 330
// Eyeball shell: rotated about its centre by the per-eye gaze, then by the head.
uniform mat4 u_eye;        // gaze rotation about the eyeball centre (head space)
uniform mat4 u_head;
uniform mat4 u_view_proj;
uniform vec3 u_centre;     // eyeball centre (head space)
in vec3 in_pos;
in vec2 in_uv;
out vec2 v_uv;
out vec3 v_normal;
void main() {
    vec4 p = u_eye * vec4(in_pos, 1.0);
    v_normal = mat3(u_head) * (p.xyz - u_centre);
    v_uv = in_uv;
    gl_Position = u_view_proj * (u_head * p);
}
