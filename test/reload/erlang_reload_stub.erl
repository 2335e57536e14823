%% A stand-in for erlmcp_config in the erlang notifier's tests: reload/0
%% re-reads the term file the agent renders ({api_key, <<"...">>}.) and keeps
%% the value, the way erlmcp_config:reload() re-reads its settings. The file
%% is given at start-up: erl ... -stub_file PATH.
-module(erlang_reload_stub).
-export([reload/0, value/0, reloads/0, leak_crash/0, leak_result/0, leak_atom/0, leak_improper/0, leak_crash_atom/0, slow/1]).

file_path() ->
    {ok, [[Path]]} = init:get_argument(stub_file),
    Path.

read_key() ->
    {ok, Terms} = file:consult(file_path()),
    {api_key, Key} = lists:keyfind(api_key, 1, Terms),
    Key.

reload() ->
    persistent_term:put({?MODULE, api_key}, read_key()),
    persistent_term:put({?MODULE, reloads}, reloads() + 1),
    ok.

value() -> persistent_term:get({?MODULE, api_key}, undefined).

reloads() -> persistent_term:get({?MODULE, reloads}, 0).

%% A reload that crashes with the value in its reason, as a careless
%% badmatch would: the notifier must not pass it on.
leak_crash() ->
    Key = read_key(),
    erlang:error({bad_key, Key, binary_to_list(Key)}).

%% A reload that returns the value instead of ok.
leak_result() -> {loaded, read_key()}.

%% The value echoed back in the forms the notifier keeps when it prints a
%% term (atoms, numbers): inside an atom, and as the character codes of an
%% improper list. Only the log scrubber stands between these and the log.
leak_atom() -> {loaded, binary_to_atom(read_key(), utf8)}.

leak_improper() -> binary_to_list(read_key()) ++ loaded.

leak_crash_atom() -> erlang:error({bad_key, binary_to_atom(read_key(), utf8)}).

slow(Ms) ->
    timer:sleep(Ms),
    ok.
