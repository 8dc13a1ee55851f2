/*
 * Guards over stock library functions that run long loops inside C, where the instruction hook
 * never fires. Time itself is bounded by the watchdog (watchdog.c), which also stops backtracking
 * patterns (string.find/match/gmatch/gsub) that would run for hours; these guards refuse what is
 * pointless or unbounded before it starts, with a precise message:
 *  - string.rep of an empty string loops n times without allocating; a result larger than the
 *    memory cap is refused as running out of memory.
 *  - table.move loops over a caller-given range; table.insert/remove/sort/concat/unpack loop in
 *    C and call metamethods per element, so they take plain tables only.
 *  - setmetatable: finalizers (__gc) run with hooks off and are refused.
 */
#include "sandbox_internal.h"
#include <string.h>

#define MW_MAX_TABLE_RANGE 10000000   /* elements table.move may touch in one call */

/* Calls the original library function (upvalue 1) with the same arguments. */
static int call_original(lua_State *L) {
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, LUA_MULTRET);
    return lua_gettop(L);
}

static int g_rep(lua_State *L) {
    size_t l, lsep = 0;
    luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &lsep);
    if (n <= 0 || l + lsep == 0) { lua_pushliteral(L, ""); return 1; }
    /* A result that could never fit under the memory cap is a memory error at once, as the
     * allocator would make it, not an error a pcall could catch ("resulting string too large"). */
    unsigned __int128 total = (unsigned __int128)l * (uint64_t)n + (unsigned __int128)lsep * (uint64_t)(n - 1);
    if (total > mw_of(L)->lim.memory_bytes) return mw_refuse_memory(L);
    return call_original(L);
}

/* Table functions loop in C and call metamethods per element; with a metatable whose
 * metamethods are C functions (say __index = rawequal) nothing would ever reach the hook.
 * In the sandbox they work on plain tables only, where every loop is bounded by memory. */
static void require_plain(lua_State *L, int arg, const char *fn) {
    if (lua_type(L, arg) == LUA_TTABLE && lua_getmetatable(L, arg)) {
        lua_pop(L, 1);
        luaL_error(L, "table.%s refused: the sandbox's table functions work on tables without a metatable", fn);
    }
}

static int g_move(lua_State *L) {
    require_plain(L, 1, "move");
    if (!lua_isnoneornil(L, 5)) require_plain(L, 5, "move");
    lua_Integer f = luaL_checkinteger(L, 2);
    lua_Integer e = luaL_checkinteger(L, 3);
    if (e >= f && (e - f) >= MW_MAX_TABLE_RANGE)
        return luaL_error(L, "table.move refused: range of %I elements is over the sandbox limit", (lua_Integer)(e - f + 1));
    return call_original(L);
}

static int g_plain1(lua_State *L) {
    require_plain(L, 1, lua_tostring(L, lua_upvalueindex(2)));
    return call_original(L);
}

/* Finalizers run with debug hooks off, so an endless __gc could never be stopped. Lua decides
 * finalization when the metatable is set, reading __gc raw, and so does this check. */
static int g_setmetatable(lua_State *L) {
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        int t = lua_rawget(L, 2);
        lua_pop(L, 1);
        if (t != LUA_TNIL) return luaL_error(L, "setmetatable refused: finalizers (__gc) are not allowed in signatures");
    }
    return call_original(L);
}

static void wrap(lua_State *L, int lib, const char *name, lua_CFunction guard) {
    lua_getfield(L, lib, name);
    lua_pushcclosure(L, guard, 1);
    lua_setfield(L, lib, name);
}

void mw_install_guards(lua_State *L) {
    lua_getglobal(L, "string");
    int str = lua_gettop(L);
    wrap(L, str, "rep", g_rep);
    lua_pushnil(L); lua_setfield(L, str, "dump");   /* no bytecode, in or out */
    lua_pop(L, 1);

    lua_getglobal(L, "table");
    int tab = lua_gettop(L);
    wrap(L, tab, "move", g_move);
    static const char *const plain[] = { "insert", "remove", "sort", "concat", "unpack", NULL };
    for (int k = 0; plain[k]; k++) {
        lua_getfield(L, tab, plain[k]);
        lua_pushstring(L, plain[k]);
        lua_pushcclosure(L, g_plain1, 2);
        lua_setfield(L, tab, plain[k]);
    }
    lua_pop(L, 1);

    lua_pushglobaltable(L);
    wrap(L, lua_gettop(L), "setmetatable", g_setmetatable);
    lua_pop(L, 1);

    /* Nobody may swap the string metatable's __index back to the unguarded functions. */
    lua_pushliteral(L, "");
    if (lua_getmetatable(L, -1)) {
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}
