%% Test stub: an HTTP endpoint inside an Erlang node for the sidecar's `http`
%% reload notifier. Every request on 127.0.0.1:Port makes the node reload its
%% rendered files (erlmcp_secrets_reload:reload_now/0); the answer is 200 when
%% the reload applied, 500 when it did not.
-module(reload_http_stub).
-export([start/1]).

start(Port) ->
    Parent = self(),
    Pid = spawn(fun() ->
        {ok, L} = gen_tcp:listen(Port, [binary, {packet, http_bin}, {active, false},
                                        {reuseaddr, true}, {ip, {127, 0, 0, 1}}]),
        Parent ! {self(), listening},
        accept(L)
    end),
    receive {Pid, listening} -> ok after 5000 -> {error, timeout} end.

accept(L) ->
    {ok, S} = gen_tcp:accept(L),
    handle(S),
    accept(L).

handle(S) ->
    case read_headers(S) of
        ok ->
            {Status, Body} = case erlmcp_secrets_reload:reload_now() of
                                 ok -> {<<"200 OK">>, <<"reloaded">>};
                                 _ -> {<<"500 Internal Server Error">>, <<"failed">>}
                             end,
            ok = inet:setopts(S, [{packet, raw}]),
            gen_tcp:send(S, [<<"HTTP/1.1 ">>, Status, <<"\r\nContent-Length: ">>,
                             integer_to_binary(byte_size(Body)),
                             <<"\r\nConnection: close\r\n\r\n">>, Body]);
        _ ->
            ok
    end,
    gen_tcp:close(S).

read_headers(S) ->
    case gen_tcp:recv(S, 0, 5000) of
        {ok, {http_request, _, _, _}} -> read_headers(S);
        {ok, {http_header, _, _, _, _}} -> read_headers(S);
        {ok, http_eoh} -> ok;
        Other -> Other
    end.
