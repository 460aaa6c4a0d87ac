#version 330
// Eyeball shell: rotated about its centre by the per-eye gaze, then by the head.
uniform mat4 u_eye;        // gaze rotation about the eyeball centre (head space)
uniform mat4 u_head;
uniform mat4 u_view_proj;
uniform vec3 u_centre;     // eyeball centre (head space)
uniform mat3 u_align;      // head space -> eye frame: the modelled cornea axis onto +z
in vec3 in_pos;
out vec3 v_eye;            // position in the eye frame, cm from the centre
out vec3 v_normal;
void main() {
    vec4 p = u_eye * vec4(in_pos, 1.0);
    v_normal = mat3(u_head) * (p.xyz - u_centre);
    v_eye = u_align * (in_pos - u_centre);
    gl_Position = u_view_proj * (u_head * p);
}
