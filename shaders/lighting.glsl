// Shared lighting: one soft key light from the upper left, a fill, ambient.
vec3 shade(vec3 albedo, vec3 n) {
    n = normalize(n);
    vec3 key = normalize(vec3(-0.35, 0.45, 0.82));
    vec3 fill = normalize(vec3(0.6, -0.1, 0.8));
    float lk = max(dot(n, key), 0.0);
    float lf = max(dot(n, fill), 0.0);
    return albedo * (0.32 + 0.62 * lk + 0.18 * lf);
}

float hash3(vec3 p) {
    p = fract(p * 0.3183099 + 0.1);
    p *= 17.0;
    return fract(p.x * p.y * p.z * (p.x + p.y + p.z));
}

float value_noise(vec3 x) {
    vec3 i = floor(x);
    vec3 f = fract(x);
    f = f * f * (3.0 - 2.0 * f);
    return mix(mix(mix(hash3(i + vec3(0, 0, 0)), hash3(i + vec3(1, 0, 0)), f.x),
                   mix(hash3(i + vec3(0, 1, 0)), hash3(i + vec3(1, 1, 0)), f.x), f.y),
               mix(mix(hash3(i + vec3(0, 0, 1)), hash3(i + vec3(1, 0, 1)), f.x),
                   mix(hash3(i + vec3(0, 1, 1)), hash3(i + vec3(1, 1, 1)), f.x), f.y), f.z);
}
