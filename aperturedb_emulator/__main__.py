"""python -m aperturedb_emulator --host H --port P [--data-dir DIR] [--tls] [--seed N] ..."""
import argparse
import signal
import sys
import threading

from .server import EmulatorServer


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m aperturedb_emulator",
                                 description="ApertureDB-compatible emulator for tests and demos")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=55555)
    ap.add_argument("--data-dir", default=None, help="persist to this directory (default: in memory)")
    ap.add_argument("--username", default="admin")
    ap.add_argument("--password", default="admin")
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--cert", default=None)
    ap.add_argument("--key", default=None)
    ap.add_argument("--max-message-size", type=int, default=256 * 1024 * 1024)
    ap.add_argument("--seed", type=int, default=0, help="generate N demo images with regions")
    ap.add_argument("--seed-scale", type=int, default=1, help="enlarge seeded images (1: 48-120 px wide)")
    ap.add_argument("--seed-videos", type=int, default=0,
                    help="generate N demo videos (WebM/VP9) with labelled clips and tracked boxes on frames")
    ap.add_argument("--latency-ms", type=float, default=0,
                    help="delay each reply by this many ms, as a network round trip to a remote server would")
    args = ap.parse_args(argv)
    if bool(args.cert) != bool(args.key):
        ap.error("--cert and --key go together")
    srv = EmulatorServer(host=args.host, port=args.port, username=args.username,
                         password=args.password, data_dir=args.data_dir, tls=args.tls,
                         cert_file=args.cert, key_file=args.key,
                         max_message_size=args.max_message_size, latency_ms=args.latency_ms).start()
    if args.seed:
        from .seed import seed
        seed(srv, args.seed, scale=args.seed_scale)
    if args.seed_videos:
        from .sample_media import seed_videos
        seed_videos(srv, args.seed_videos)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):   # before the line a caller waits for
        signal.signal(sig, lambda *_: done.set())
    print(f"ApertureDB emulator listening on {srv.host}:{srv.port} (tls={args.tls})", flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
