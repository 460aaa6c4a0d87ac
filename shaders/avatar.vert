#version 330
// Face, eye sockets and mouth socket: blended positions/normals in head space.
uniform mat4 u_head;       // head rotation about the neck pivot
uniform mat4 u_view_proj;
in vec3 in_pos;
in vec3 in_normal;
in vec3 in_color;
out vec3 v_normal;
out vec3 v_color;
out vec3 v_head_pos;       // unrotated head-space position: stable procedural detail
void main() {
    vec4 p = u_head * vec4(in_pos, 1.0);
    v_normal = mat3(u_head) * in_normal;
    v_color = in_color;
    v_head_pos = in_pos;
    gl_Position = u_view_proj * p;
}
