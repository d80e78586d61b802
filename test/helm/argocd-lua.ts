/**
 * Runs the Argo CD health check (helm/trellis/argocd/trafficpolicy-health.lua) as Argo CD does: the object as the
 * global `obj`, the script's returned table read as `{ status, message }`. fengari is a Lua VM in JavaScript.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lauxlib, lua, lualib, to_luastring, type LuaState } from 'fengari';
import { CHART } from './support.ts';

export const HEALTH_LUA_PATH = join(CHART, 'argocd/trafficpolicy-health.lua');
export const HEALTH_LUA = readFileSync(HEALTH_LUA_PATH, 'utf8');

export interface Health {
  readonly status: string;
  readonly message: string;
}

/** Pushes a JSON value as Lua does it in Argo CD: objects and arrays as tables (arrays from 1), null as nil. */
function push(L: LuaState, value: unknown): void {
  if (value === null || value === undefined) lua.lua_pushnil(L);
  else if (typeof value === 'boolean') lua.lua_pushboolean(L, value);
  else if (typeof value === 'number' && Number.isInteger(value)) lua.lua_pushinteger(L, value);
  else if (typeof value === 'number') lua.lua_pushnumber(L, value);
  else if (typeof value === 'string') lua.lua_pushstring(L, to_luastring(value));
  else if (Array.isArray(value)) {
    lua.lua_newtable(L);
    value.forEach((v, i) => {
      push(L, v);
      lua.lua_seti(L, -2, i + 1);
    });
  } else if (typeof value === 'object') {
    lua.lua_newtable(L);
    for (const [k, v] of Object.entries(value)) {
      push(L, v);
      lua.lua_setfield(L, -2, to_luastring(k));
    }
  } else throw new Error(`cannot pass ${typeof value} to Lua`);
}

/** The health the script gives `obj`; a Lua error throws with its message. */
export function health(obj: unknown, script = HEALTH_LUA): Health {
  const L = lauxlib.luaL_newstate();
  try {
    lualib.luaL_openlibs(L);
    push(L, obj);
    lua.lua_setglobal(L, to_luastring('obj'));
    if (lauxlib.luaL_loadstring(L, to_luastring(script)) !== lua.LUA_OK || lua.lua_pcall(L, 0, 1, 0) !== lua.LUA_OK) {
      throw new Error(`the health check failed: ${lua.lua_tojsstring(L, -1) ?? 'unknown error'}`);
    }
    if (!lua.lua_istable(L, -1)) throw new Error('the health check returned no table');
    const field = (k: string) => {
      lua.lua_getfield(L, -1, to_luastring(k));
      const v = lua.lua_tojsstring(L, -1) ?? '';
      lua.lua_pop(L, 1);
      return v;
    };
    return { status: field('status'), message: field('message') };
  } finally {
    lua.lua_close(L);
  }
}
