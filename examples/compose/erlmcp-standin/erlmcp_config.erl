%% A stand-in for erlmcp in the compose example: an Erlang node that reads
%% the files erlmcp-secrets rendered (the same ones erlmcp reads), says which
%% settings it found (names only, never values) and offers
%% erlmcp_config:reload() for the sidecar's erlang reload notifier.
%%
%% Started by docker-compose.yml as
%%   erl -noshell -name erlmcp@127.0.0.1 -args_file <dir>/vm.args -s erlmcp_config start
%% where vm.args is rendered by the agent and holds -setcookie.
-module(erlmcp_config).
-export([start/0, reload/0, summary/0]).

secrets_dir() ->
    case os:getenv("ERLMCP_SECRETS_DIR") of
        false -> "/run/secrets/erlmcp";
        Dir -> Dir
    end.

start() ->
    report("started", summary()).

reload() ->
    report("reloaded", summary()),
    ok.

%% {ok, #{env => [Name], config => [Key], cookie => Bytes}} | {error, Why}
summary() ->
    Dir = secrets_dir(),
    maybe_summary(
        file:read_file(filename:join(Dir, "erlmcp.env")),
        file:consult(filename:join(Dir, "sys.config")),
        file:read_file(filename:join(Dir, "erlang.cookie"))).

maybe_summary({ok, Env}, {ok, [Config]}, {ok, Cookie}) when is_list(Config) ->
    ErlmcpEnv = proplists:get_value(erlmcp, Config, []),
    {ok, #{env => env_names(Env),
           config => [K || {K, _} <- ErlmcpEnv],
           cookie => byte_size(Cookie)}};
maybe_summary({error, Why}, _, _) -> {error, {'erlmcp.env', Why}};
maybe_summary(_, {error, Why}, _) -> {error, {'sys.config', Why}};
maybe_summary(_, {ok, Other}, _) -> {error, {'sys.config', {not_one_list, length(Other)}}};
maybe_summary(_, _, {error, Why}) -> {error, {'erlang.cookie', Why}}.

%% the variable names of a dotenv file, in order
env_names(Bin) ->
    Lines = binary:split(Bin, <<"\n">>, [global]),
    [Name || Line <- Lines,
             Line =/= <<>>,
             binary:first(Line) =/= $#,
             [Name, _] <- [binary:split(Line, <<"=">>)]].

report(What, {ok, #{env := Env, config := Keys, cookie := CookieBytes}}) ->
    io:format("erlmcp stand-in ~s on ~s: ~b env variables (~s), sys.config erlmcp keys ~w, cookie of ~b bytes~n",
              [What, node(), length(Env), lists:join(", ", Env), Keys, CookieBytes]);
report(What, {error, Why}) ->
    io:format("erlmcp stand-in ~s on ~s: cannot read the rendered secrets: ~p~n", [What, node(), Why]).
