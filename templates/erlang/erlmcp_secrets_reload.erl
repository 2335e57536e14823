%% erlmcp_secrets_reload: reload rendered secret files when the node gets SIGHUP.
%%
%% The erlmcp-secrets sidecar re-renders files (an env file, a sys.config
%% fragment) when a secret changes and can then signal the node. Without a
%% handler, SIGHUP kills a BEAM (the OS default action); this module makes
%% SIGHUP mean "re-read the rendered files and apply them":
%%
%%   erlmcp_secrets_reload:install(#{
%%       env_files    => ["/run/secrets/erlmcp/erlmcp.env"],   % KEY=VALUE, read as dotenv does
%%       config_files => ["/run/secrets/erlmcp/secrets.config"], % [{App, [{K, V}]}].
%%       callback     => {erlmcp_config, secrets_reloaded}       % optional, M:F/1 or fun/1
%%   }).
%%
%% On each SIGHUP it reads every listed file; only when all of them parse does
%% it apply them: os:putenv/2 for each env variable (unless putenv => false),
%% application:set_env/4 for each {App, [{Key, Val}]} of the config files, and
%% then the callback with #{env => #{Name => Value}, config => [{App, KVs}],
%% files => [Path]}. A file that fails to read or parse leaves every previous
%% value in place. Log lines name files, line numbers and counts, never values.
%%
%% After installing it, set `beamHandlerInstalled: true` on the sidecar's
%% `signal` reload entry: the sidecar refuses to SIGHUP a BEAM otherwise.
%%
%% Without installing anything: the agent's default `erlang` reload loads this
%% module into the running node over the distribution connection
%% (code:load_binary/3) and calls
%%
%%   erlmcp_secrets_reload:apply_rendered(#{config_files => [Path],
%%                                          env_files => [Path],
%%                                          clear_pem_cache => true,
%%                                          hook => {M, F}})      % optional
%%
%% which returns {ok, #{changed => [{App, Key}], changed_env => [Name], pem_cache => ...,
%%                      dist_pem_cache => ..., hook => ...}}
%% (names of changed keys, never values).

-module(erlmcp_secrets_reload).
-behaviour(gen_event).

-export([install/1, uninstall/0, reload_now/0, parse_env/1]).
-export([apply_rendered/1]).
-export([init/1, handle_event/2, handle_call/2, handle_info/2, terminate/2, code_change/3]).

-type opts() :: #{env_files => [file:filename()],
                  config_files => [file:filename()],
                  putenv => boolean(),
                  callback => {module(), atom()} | fun((map()) -> term()),
                  signal => atom(),
                  load_now => boolean()}.

%% ---------------------------------------------------------------------------
%% API

%% Adds the handler to erl_signal_server, then tells the runtime to deliver the
%% signal (default sighup) to it instead of applying the OS default. Installing
%% again replaces the previous options.
-spec install(opts()) -> ok | {error, term()}.
install(Opts) when is_map(Opts) ->
    case check_opts(Opts) of
        ok ->
            _ = (catch gen_event:delete_handler(erl_signal_server, ?MODULE, replaced)),
            %% catch: erl_signal_server is absent in a minimal (embedded) boot
            case catch gen_event:add_handler(erl_signal_server, ?MODULE, Opts) of
                ok ->
                    ok = os:set_signal(maps:get(signal, Opts, sighup), handle),
                    case maps:get(load_now, Opts, false) of
                        true -> _ = reload_now(), ok;
                        false -> ok
                    end;
                {'EXIT', {noproc, _}} ->
                    {error, no_signal_server};
                Other ->
                    {error, Other}
            end;
        {error, _} = E ->
            E
    end;
install(_) ->
    {error, opts_must_be_a_map}.

%% Removes the handler and restores the OS default for the signal.
-spec uninstall() -> ok.
uninstall() ->
    Signal = case catch gen_event:call(erl_signal_server, ?MODULE, signal) of
                 S when is_atom(S), S =/= 'EXIT' -> S;
                 _ -> sighup
             end,
    _ = gen_event:delete_handler(erl_signal_server, ?MODULE, uninstall),
    os:set_signal(Signal, default).

%% Reloads now, as if the signal had arrived; returns ok or {error, Reason}.
-spec reload_now() -> ok | {error, term()}.
reload_now() ->
    gen_event:call(erl_signal_server, ?MODULE, reload).

%% ---------------------------------------------------------------------------
%% Remote API: what the agent calls over distribution

%% Re-reads the rendered files and applies them: os:putenv/2 for each variable
%% of the env files (read as dotenv does), application:set_env for every
%% {App, [{Key, Value}]} of the sys.config files (all files are read and checked
%% first; a bad file changes nothing), then ssl:clear_pem_cache() and the TLS
%% distribution's own PEM cache so the next TLS handshake (a transport's or a
%% new distribution connection's) reads the rewritten certificate files, then the operator's hook
%% {M, F} with #{changed => [{App, Key}], changed_env => [Name], files => [Path]}. The answer names keys, never
%% values, and never lets an exception out: rpc would echo the arguments.
-spec apply_rendered(map()) -> {ok, map()} | {error, term()}.
apply_rendered(Opts) when is_map(Opts) ->
    try
        Files = maps:get(config_files, Opts, []),
        EnvFiles = maps:get(env_files, Opts, []),
        case read_all(EnvFiles, Files) of
            {ok, Env, Config} ->
                Changed = changed_keys(Config),
                ChangedEnv = lists:sort([unicode:characters_to_binary(K) || {K, V} <- maps:to_list(Env), os:getenv(K) =/= V]),
                apply_env(Env, true),
                apply_config(Config),
                {Pem, DistPem} = case maps:get(clear_pem_cache, Opts, true) of
                                     true -> {clear_pem_cache(), clear_dist_pem_cache()};
                                     false -> {skipped, skipped}
                                 end,
                Hook = case maps:get(hook, Opts, undefined) of
                           undefined -> not_set;
                           {M, F} = H when is_atom(M), is_atom(F) ->
                               run_callback(H, #{changed => Changed, changed_env => ChangedEnv, files => EnvFiles ++ Files});
                           _ -> {error, bad_hook}
                       end,
                logger:notice("erlmcp_secrets_reload: ~b keys changed from ~b config files, ~b variables from ~b env files",
                              [length(Changed), length(Files), length(ChangedEnv), length(EnvFiles)]),
                {ok, #{changed => Changed, changed_env => ChangedEnv, pem_cache => Pem, dist_pem_cache => DistPem, hook => Hook}};
            {error, Why} ->
                {error, unicode:characters_to_binary(Why)}
        end
    catch
        Class:_ -> {error, {crashed, Class}}
    end;
apply_rendered(_) ->
    {error, opts_must_be_a_map}.

changed_keys(Config) ->
    %% later entries win, as in apply_config/1: compare against the final value
    Final = lists:foldl(fun({App, KVs}, Acc) ->
                                lists:foldl(fun({K, V}, A) -> maps:put({App, K}, V, A) end, Acc, KVs)
                        end, #{}, Config),
    lists:sort([AK || {App, K} = AK <- maps:keys(Final),
                      application:get_env(App, K) =/= {ok, maps:get(AK, Final)}]).

clear_pem_cache() ->
    %% ssl keeps decoded PEM files by name: without this, a rewritten
    %% certfile/keyfile/cacertfile is not read again until the cache expires
    case catch ssl:clear_pem_cache() of
        ok -> cleared;
        _ -> ssl_not_running
    end.

%% TLS distribution (-proto_dist inet_tls) has a PEM cache of its own,
%% ssl_pem_cache_dist, which ssl:clear_pem_cache/0 leaves alone: it only
%% notices a rewritten file at its periodic check (ssl's
%% ssl_pem_cache_clean, two minutes by default). It is cleared the way
%% ssl_pem_cache:clear/0 clears the other one. New distribution connections
%% then read the new files; connections already up keep their certificate.
clear_dist_pem_cache() ->
    case whereis(ssl_pem_cache_dist) of
        undefined ->
            not_running;
        Pid ->
            try gen_server:call(Pid, {unconditionally_clear_pem_cache, self()}, 5000) of
                _ -> cleared
            catch
                Class:_ -> {error, Class}
            end
    end.

%% ---------------------------------------------------------------------------
%% gen_event callbacks

init(Opts) ->
    {ok, Opts}.

handle_event(Signal, Opts) ->
    case maps:get(signal, Opts, sighup) of
        Signal -> _ = reload(Opts), {ok, Opts};
        _ -> {ok, Opts}
    end.

handle_call(reload, Opts) ->
    {ok, reload(Opts), Opts};
handle_call(signal, Opts) ->
    {ok, maps:get(signal, Opts, sighup), Opts};
handle_call(_, Opts) ->
    {ok, {error, unknown_call}, Opts}.

handle_info(_, Opts) ->
    {ok, Opts}.

terminate(_, _) ->
    ok.

code_change(_, Opts, _) ->
    {ok, Opts}.

%% ---------------------------------------------------------------------------
%% reload: read everything first, apply only when all of it is good

reload(Opts) ->
    EnvFiles = maps:get(env_files, Opts, []),
    ConfigFiles = maps:get(config_files, Opts, []),
    %% never let a bad file or callback take erl_signal_server's handler down
    try read_all(EnvFiles, ConfigFiles) of
        {ok, Env, Config} ->
            apply_env(Env, maps:get(putenv, Opts, true)),
            apply_config(Config),
            Result = run_callback(maps:get(callback, Opts, undefined),
                                  #{env => Env, config => Config, files => EnvFiles ++ ConfigFiles}),
            logger:notice("erlmcp_secrets_reload: applied ~b variables from ~b env files "
                          "and ~b applications from ~b config files",
                          [maps:size(Env), length(EnvFiles), length(Config), length(ConfigFiles)]),
            Result;
        {error, Why} ->
            logger:error("erlmcp_secrets_reload: ~ts; kept the previous values", [Why]),
            {error, Why}
    catch
        Class:Reason ->
            %% the reason may hold file contents: log only its shape
            logger:error("erlmcp_secrets_reload: reload crashed (~p); kept the previous values", [Class]),
            {error, {Class, element(1, as_tuple(Reason))}}
    end.

read_all(EnvFiles, ConfigFiles) ->
    case read_env_files(EnvFiles, #{}) of
        {ok, Env} ->
            case read_config_files(ConfigFiles, []) of
                {ok, Config} -> {ok, Env, Config};
                {error, _} = E -> E
            end;
        {error, _} = E ->
            E
    end.

read_env_files([], Acc) ->
    {ok, Acc};
read_env_files([Path | Rest], Acc) ->
    case file:read_file(Path) of
        {ok, Bin} ->
            case parse_env(Bin) of
                {ok, Vars} -> read_env_files(Rest, maps:merge(Acc, Vars));
                {error, {Line, What}} -> {error, io_lib:format("~ts line ~b: ~ts", [Path, Line, What])}
            end;
        {error, Posix} ->
            {error, io_lib:format("cannot read ~ts: ~ts", [Path, file:format_error(Posix)])}
    end.

read_config_files([], Acc) ->
    {ok, lists:reverse(Acc)};
read_config_files([Path | Rest], Acc) ->
    case file:consult(Path) of
        {ok, [Apps]} when is_list(Apps) ->
            check_apps(Path, Apps, Rest, Acc);
        {ok, Terms} ->
            check_apps(Path, Terms, Rest, Acc);
        {error, {Line, _Mod, _Term}} ->
            %% the parser's message can quote a token, i.e. part of a value: give the line only
            {error, io_lib:format("~ts line ~p: not a valid Erlang term file", [Path, Line])};
        {error, Posix} when is_atom(Posix) ->
            {error, io_lib:format("cannot read ~ts: ~ts", [Path, file:format_error(Posix)])};
        {error, _} ->
            {error, io_lib:format("cannot read ~ts", [Path])}
    end.

check_apps(Path, Apps, Rest, Acc) ->
    Valid = lists:all(fun({App, KVs}) when is_atom(App), is_list(KVs) ->
                              lists:all(fun({K, _}) -> is_atom(K); (_) -> false end, KVs);
                         (_) -> false
                      end, Apps),
    case Valid of
        true -> read_config_files(Rest, lists:reverse(Apps, Acc));
        false -> {error, io_lib:format("~ts: expected [{App, [{Key, Value}]}]", [Path])}
    end.

apply_env(_, false) ->
    ok;
apply_env(Env, true) ->
    maps:foreach(fun(K, V) -> true = os:putenv(K, V) end, Env).

apply_config(Config) ->
    lists:foreach(fun({App, KVs}) ->
                          [ok = application:set_env(App, K, V, [{persistent, true}]) || {K, V} <- KVs]
                  end, Config).

run_callback(undefined, _) ->
    ok;
run_callback(Callback, Info) ->
    try
        _ = case Callback of
                {M, F} -> M:F(Info);
                Fun when is_function(Fun, 1) -> Fun(Info)
            end,
        ok
    catch
        Class:_ ->
            logger:error("erlmcp_secrets_reload: callback ~p failed (~p); files were applied", [callback_name(Callback), Class]),
            {error, callback_failed}
    end.

callback_name({M, F}) -> {M, F};
callback_name(_) -> 'fun'.

check_opts(Opts) ->
    Files = maps:get(env_files, Opts, []) ++ maps:get(config_files, Opts, []),
    case Files of
        [] -> {error, no_files_given};
        _ ->
            case maps:get(callback, Opts, undefined) of
                undefined -> ok;
                {M, F} when is_atom(M), is_atom(F) -> ok;
                Fun when is_function(Fun, 1) -> ok;
                _ -> {error, bad_callback}
            end
    end.

as_tuple(T) when is_tuple(T), tuple_size(T) > 0 -> T;
as_tuple(T) when is_atom(T) -> {T};
as_tuple(_) -> {error}.

%% ---------------------------------------------------------------------------
%% env file parsing: exactly what the `dotenv` npm package (v16-v18, default
%% parser) reads, because that is the reader the agent's `dotenv` escaping is
%% written and tested for. The same line pattern, with JavaScript's meaning
%% of \s, ^, $ and . spelled out (JS counts U+2028/U+2029 as line ends and
%% U+FEFF as a space; PCRE's defaults differ):
%%   - CR LF and lone CR become LF first;
%%   - each match of  [export] KEY=VALUE [# comment]  sets KEY (later wins);
%%     KEY is [A-Za-z0-9_.-]+, "KEY: VALUE" is accepted too; lines that do
%%     not match are skipped, as dotenv does;
%%   - VALUE is '...', "..." or `...` (a backslash before the quote does not
%%     end it, and stays), or bare text up to # or the line end;
%%   - the value is trimmed, one pair of matching outer quotes is removed, and
%%     only when it started with " are \n and \r turned into LF and CR.
%% Errors name the file, never a value.

-define(JS_SPACE, "[\\t\\n\\x{0b}\\x{0c}\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}]").
-define(JS_EOL, "[\\n\\x{2028}\\x{2029}]").

-spec parse_env(binary() | string()) -> {ok, #{string() => string()}} | {error, {pos_integer(), string()}}.
parse_env(Bin) when is_binary(Bin) ->
    case unicode:characters_to_list(Bin) of
        L when is_list(L) -> parse_env(L);
        _ -> {error, {1, "not valid UTF-8"}}
    end;
parse_env(Text0) when is_list(Text0) ->
    Text = re:replace(Text0, "\\r\\n?", "\n", [global, unicode, {return, list}]),
    S = ?JS_SPACE,
    LineStart = "(?:\\A|(?<=" ?JS_EOL "))",
    LineEnd = "(?=" ?JS_EOL "|\\z)",
    Pattern = LineStart ++ S ++ "*(?:export" ++ S ++ "+)?([\\w.-]+)(?:" ++ S ++ "*=" ++ S ++ "*?|:" ++ S ++ "+?)"
        "(" ++ S ++ "*'(?:\\\\'|[^'])*'|" ++ S ++ "*\"(?:\\\\\"|[^\"])*\"|" ++ S ++ "*`(?:\\\\`|[^`])*`|[^#\\r\\n]+)?"
        ++ S ++ "*(?:#[^\\n\\x{2028}\\x{2029}]*)?" ++ LineEnd,
    {ok, Line} = re:compile(Pattern, [unicode]),
    {ok, Quotes} = re:compile(LineStart ++ "(['\"`])([\\s\\S]*)\\1" ++ LineEnd, [unicode]),
    Matches = case re:run(Text, Line, [global, {capture, all, list}]) of
                  {match, Ms} -> Ms;
                  nomatch -> []
              end,
    {ok, lists:foldl(fun(M, Acc) ->
                             {Key, Raw} = case M of
                                              [_, K] -> {K, ""};
                                              [_, K, V | _] -> {K, V}
                                          end,
                             Acc#{Key => env_value(Raw, Quotes)}
                     end, #{}, Matches)}.

env_value(Raw, Quotes) ->
    Trimmed = js_trim(Raw),
    Unquoted = re:replace(Trimmed, Quotes, "\\2", [global, {return, list}]),
    case Trimmed of
        [$" | _] ->
            re:replace(re:replace(Unquoted, "\\\\n", "\n", [global, unicode, {return, list}]),
                       "\\\\r", "\r", [global, unicode, {return, list}]);
        _ ->
            Unquoted
    end.

js_trim(S) ->
    Drop = fun(C) -> is_js_space(C) end,
    lists:reverse(lists:dropwhile(Drop, lists:reverse(lists:dropwhile(Drop, S)))).

is_js_space(C) ->
    lists:member(C, [9, 10, 11, 12, 13, 32, 16#a0, 16#1680, 16#2028, 16#2029, 16#202f, 16#205f, 16#3000, 16#feff])
        orelse (C >= 16#2000 andalso C =< 16#200a).
