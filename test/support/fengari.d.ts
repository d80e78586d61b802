/** The part of fengari (a Lua 5.3 VM in JavaScript; it ships no types) the Argo CD health check test uses. */
declare module 'fengari' {
  export type LuaState = { readonly __lua_state: unique symbol };
  export function to_luastring(s: string): Uint8Array;
  export const lua: {
    LUA_OK: number;
    lua_close(L: LuaState): void;
    lua_newtable(L: LuaState): void;
    lua_pushnil(L: LuaState): void;
    lua_pushboolean(L: LuaState, b: boolean): void;
    lua_pushnumber(L: LuaState, n: number): void;
    lua_pushinteger(L: LuaState, n: number): void;
    lua_pushstring(L: LuaState, s: Uint8Array): void;
    lua_setfield(L: LuaState, idx: number, k: Uint8Array): void;
    lua_seti(L: LuaState, idx: number, n: number): void;
    lua_setglobal(L: LuaState, name: Uint8Array): void;
    lua_getfield(L: LuaState, idx: number, k: Uint8Array): number;
    lua_pcall(L: LuaState, nargs: number, nresults: number, errfunc: number): number;
    lua_tojsstring(L: LuaState, idx: number): string | null;
    lua_istable(L: LuaState, idx: number): boolean;
    lua_pop(L: LuaState, n: number): void;
  };
  export const lauxlib: {
    luaL_newstate(): LuaState;
    luaL_loadstring(L: LuaState, s: Uint8Array): number;
  };
  export const lualib: { luaL_openlibs(L: LuaState): void };
}
