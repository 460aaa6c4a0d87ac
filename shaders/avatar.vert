#version 330
// Face, eye sockets and mouth socket: blended positions/normals in head space.
// Lit per vertex: the mesh is dense (a vertex every 2-3 pixels), so Gouraud
// shading looks the same as per-pixel lighting and keeps the fragment work
// on llvmpipe to a passthrough.
// #include lighting.glsl (prepended by the loader)
uniform mat4 u_head;       // head rotation about the neck pivot
uniform mat4 u_view_proj;
#ifdef DETAIL
uniform float u_detail;    // > 0 adds skin mottling (synthetic people only)
#endif
in vec3 in_pos;
in vec3 in_normal;
in vec3 in_color;
out vec3 v_color;
void main() {
    vec3 albedo = in_color;
#ifdef DETAIL
    // noise in unrotated head space: it stays on the skin as the head turns
    float n = value_noise(in_pos * 3.0) * 0.6 + value_noise(in_pos * 11.0) * 0.4;
    albedo *= 1.0 + u_detail * (n - 0.5) * 0.25;
#endif
    vec4 p = u_head * vec4(in_pos, 1.0);
    v_color = shade(albedo, mat3(u_head) * in_normal);
    gl_Position = u_view_proj * p;
}
