import type { Category, FlinkRoute } from './routes.js'

/**
 * Role presets, cumulative: viewer ⊂ operator ⊂ deployer ⊂ admin (ENDPOINTS.md "Conventions").
 * A preset grants categories; a route needs the highest of its category's preset and its own `minPreset`.
 */

export const PRESETS = ['viewer', 'operator', 'deployer', 'admin'] as const

export type Preset = (typeof PRESETS)[number]

/** Who may read the SENS log routes: admins only (default), or operators too. */
export type SensLogsFor = 'operator' | 'admin'

/** The categories each preset grants, written out in full so the ladder reads at a glance. */
export const PRESET_CATEGORIES: Readonly<Record<Preset, readonly Category[]>> = Object.freeze({
  viewer: ['MON', 'UI'],
  operator: ['MON', 'UI', 'CTRL'],
  deployer: ['MON', 'UI', 'CTRL', 'SUBMIT'],
  admin: ['MON', 'UI', 'CTRL', 'SUBMIT', 'SENS', 'CLUSTER'],
})

/** The lowest preset whose grant includes each category (derived from `PRESET_CATEGORIES`). */
export const CATEGORY_MIN_PRESET: Readonly<Record<Category, Preset>> = Object.freeze({
  MON: 'viewer',
  UI: 'viewer',
  CTRL: 'operator',
  SUBMIT: 'deployer',
  SENS: 'admin',
  CLUSTER: 'admin',
})

const RANK: Readonly<Record<Preset, number>> = Object.freeze({
  viewer: 0,
  operator: 1,
  deployer: 2,
  admin: 3,
})

export function isPreset(value: unknown): value is Preset {
  return typeof value === 'string' && Object.hasOwn(RANK, value)
}

export function presetRank(preset: Preset): number {
  return RANK[preset]
}

export function higherPreset(a: Preset, b: Preset): Preset {
  return RANK[a] >= RANK[b] ? a : b
}

/** The lowest preset allowed on `route` under the given log setting. */
export function requiredPreset(route: FlinkRoute, sensLogsFor: SensLogsFor): Preset {
  if (route.sensLog && sensLogsFor === 'operator') return 'operator'
  // A row may raise its category's preset (ENDPOINTS.md gives a few MON routes to operator), never lower it.
  return higherPreset(CATEGORY_MIN_PRESET[route.category], route.minPreset)
}

export function presetAllows(preset: Preset, route: FlinkRoute, sensLogsFor: SensLogsFor): boolean {
  return RANK[preset] >= RANK[requiredPreset(route, sensLogsFor)]
}

/**
 * An identity's preset: the highest preset any of its roles maps to, the `"*"` entry counting for
 * every authenticated identity. Null when nothing maps (then only a rule can allow a request).
 */
export function presetForRoles(
  roles: readonly string[],
  roleMap: ReadonlyMap<string, Preset>,
): Preset | null {
  let best: Preset | null = roleMap.get('*') ?? null
  for (const role of roles) {
    const preset = roleMap.get(role)
    if (preset !== undefined && (best === null || RANK[preset] > RANK[best])) best = preset
  }
  return best
}
