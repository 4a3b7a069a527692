"""``nmtune serve``: bad encoders and busy ports are answered before anything loads."""


def test_cli_unknown_encoder_is_a_clear_error(capsys):
    from nmtune.cli import main

    assert main(["serve", "--encoder", "glove-5O", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "Unknown encoder 'glove-5O'" in err and "glove-50" in err


def test_serve_on_a_busy_port_says_so_before_loading_anything(capsys):
    import socket

    from nmtune.cli import main

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        assert main(["serve", "--encoder", "no-such-encoder", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"Cannot listen on 127.0.0.1:{port}" in err and "--port 0" in err
