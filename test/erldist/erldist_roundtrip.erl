%% Test helper for the erldist property tests: decodes what the TypeScript
%% encoder produced, re-encodes with Erlang's own encoder, and generates
%% random terms (with every kind of term a node can send) for the reverse way.
-module(erldist_roundtrip).
-export([reencode_all/1, random_terms/2, compare_all/2]).

%% [binary()] -> [binary()]: binary_to_term then term_to_binary, each.
reencode_all(Bins) ->
    [term_to_binary(binary_to_term(B)) || B <- Bins].

%% Pairs of encodings must decode to exactly equal terms.
%% ok | {mismatch, Index, Expected, Got}
compare_all(Originals, Echoed) ->
    compare_all(Originals, Echoed, 1).

compare_all([], [], _) -> ok;
compare_all([O | Os], [E | Es], I) ->
    Expected = binary_to_term(O),
    case catch binary_to_term(E) of
        Got when Got =:= Expected -> compare_all(Os, Es, I + 1);
        Got -> {mismatch, I, Expected, Got}
    end;
compare_all(Os, Es, I) -> {length_mismatch, I, length(Os), length(Es)}.

%% N random terms, each as term_to_binary with a random option set
%% (default, compressed, minor_version 0 for FLOAT_EXT), seeded.
random_terms(Seed, N) ->
    rand:seed(exsss, {Seed, Seed * 7 + 1, Seed * 13 + 2}),
    [term_to_binary(gen(3), enc_opts()) || _ <- lists:seq(1, N)].

enc_opts() ->
    case rand:uniform(4) of
        1 -> [compressed];
        2 -> [{minor_version, 0}];
        _ -> []
    end.

gen(0) -> leaf();
gen(D) ->
    case rand:uniform(9) of
        1 -> [gen(D - 1) || _ <- lists:seq(1, rand:uniform(5))];
        2 -> list_to_tuple([gen(D - 1) || _ <- lists:seq(1, rand:uniform(5) - 1)]);
        3 -> maps:from_list([{gen(D - 1), gen(D - 1)} || _ <- lists:seq(1, rand:uniform(4))]);
        4 -> [gen(D - 1) | leaf_not_list()];
        5 -> maps:from_list([{I, leaf()} || I <- lists:seq(1, 40)]); % a large (HAMT) map
        _ -> leaf()
    end.

leaf_not_list() ->
    case leaf() of
        L when is_list(L) -> ok;
        X -> X
    end.

leaf() ->
    case rand:uniform(20) of
        1 -> rand:uniform(256) - 1;
        2 -> rand:uniform(1 bsl 32) - (1 bsl 31);
        3 -> (rand:uniform(1 bsl 62) * rand:uniform(1 bsl 62)) * sign();
        4 -> (1 bsl (2000 + rand:uniform(100))) * sign() + rand:uniform(1000);
        5 -> rand:normal() * math:pow(10, rand:uniform(200) - 100);
        6 -> float(rand:uniform(1000));
        7 -> list_to_atom(random_chars(rand:uniform(20), 16#7f));
        8 -> list_to_atom(random_chars(rand:uniform(20), 16#3000));
        9 -> crypto_bytes(rand:uniform(50));
        10 -> <<(crypto_bytes(3))/binary, (rand:uniform(7)):3>>;
        11 -> random_chars(rand:uniform(15), 16#ff);
        12 -> random_chars(rand:uniform(15), 16#10000);
        13 -> self();
        14 -> make_ref();
        15 -> hd(erlang:ports());
        16 -> fun lists:reverse/1;
        17 -> X = rand:uniform(100), fun(Y) -> X + Y end;
        18 -> lists:nth(rand:uniform(5), [[], {}, #{}, <<>>, true]);
        19 -> list_to_binary(random_chars(rand:uniform(30), 16#ff));
        20 -> unicode:characters_to_binary(random_chars(rand:uniform(10), 16#3000))
    end.

sign() -> case rand:uniform(2) of 1 -> 1; 2 -> -1 end.

random_chars(N, Max) ->
    [C || C <- [rand:uniform(Max) - 1 || _ <- lists:seq(1, N)], C < 16#D800 orelse C > 16#DFFF].

crypto_bytes(N) ->
    list_to_binary([rand:uniform(256) - 1 || _ <- lists:seq(1, N)]).
