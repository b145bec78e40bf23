"""The chat under load: 1,000 citizens and 20 agents (each with their
conversations open) on two uvicorn processes sharing the Redis channel
layer, citizens on one and agents on the other. Figures: the round trip of
a citizen's message to the agent's screen (stored on the ticket, then pushed),
messages per second, memory per connection; beside, in the same run, a raw
channels-redis group_send from one process to another.

Usage: .venv/bin/python bench/chat.py [--citizens 1000] [--agents 20] [--rate 50] [--duration 20]
Prints one JSON line.
"""

import argparse
import asyncio
import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import time

from common import BENCH_DATABASE, PG, ROOT, emit, fresh_database, percentile

SITE = "https://bench.example"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(citizens, agents):
    """The knowledge base, a widget, the agents, and one conversation per
    citizen handed over to a ticket and taken by an agent."""
    fresh_database()
    from django.contrib.auth import get_user_model

    from channels_app.chat import services
    from channels_app.models import Widget
    from contacts.models import AgentProfile
    from kb.importer import import_files
    from kb.models import Organisation, Service

    datasets = ROOT.parent / "shared" / "datasets"
    import_files([datasets / "cd99.yaml", datasets / "partners.yaml"])
    organisation = Organisation.objects.get(slug="cd99")
    widget = Widget.objects.create(organisation=organisation, name="Bench", key="bench", allowed_origins=[SITE])
    services_ = list(Service.objects.filter(organisation=organisation))
    users = []
    for i in range(agents):
        user = get_user_model().objects.create_user(f"agent{i}", password="x")
        AgentProfile.objects.create(user=user, organisation=organisation).services.set(services_)
        users.append(user)
    conversations = []
    for i in range(citizens):
        conversation = services.start(organisation, widget)
        services.hand_over(conversation, f"Citoyen {i}", f"citoyen{i}@bench.example")
        services.accept(conversation, users[i % agents])
        conversations.append((conversation.pk, services.token_for(conversation), users[i % agents]))
    return conversations


def session_cookie(user):
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def start_server(port):
    env = {**os.environ, "DATABASE_URL": f"{PG}/{BENCH_DATABASE}", "DB_POOL": "1", "LOG_LEVEL": "WARNING"}
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
        + ["--no-access-log", "--log-level", "warning", "--ws", "websockets-sansio"],
        cwd=ROOT,
        env=env,
    )


def wait_port(port, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"no server on {port}")


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def run_chat(citizen_url, agent_url, conversations, cookies, rate, duration):
    from websockets.asyncio.client import connect

    sent = {}
    latencies = []
    citizen_sockets, agent_sockets = [], []

    async def open_agent(pk, user):
        ws = await connect(
            f"{agent_url}/ws/chat/agent/{pk}/",
            origin=agent_url.replace("ws://", "http://"),
            additional_headers={"Cookie": cookies[user.pk]},
            open_timeout=60,
            max_queue=None,
        )
        agent_sockets.append(ws)

        async def listen():
            async for frame in ws:
                event = json.loads(frame)
                client_id = event.get("client_id")
                if event.get("author") == "citizen" and client_id in sent:
                    latencies.append(time.perf_counter() - sent.pop(client_id))

        return asyncio.create_task(listen())

    async def open_citizen(pk, token):
        ws = await connect(f"{citizen_url}/ws/chat/w/bench/", origin=SITE, open_timeout=60, max_queue=None)
        await ws.send(json.dumps({"type": "hello", "token": token, "last_seq": 10_000}))
        await ws.recv()
        citizen_sockets.append(ws)

        async def drain():
            async for _frame in ws:
                pass

        return asyncio.create_task(drain())

    tasks = []
    for start in range(0, len(conversations), 50):  # connect in waves
        batch = conversations[start : start + 50]
        tasks += await asyncio.gather(*(open_agent(pk, user) for pk, _token, user in batch))
        tasks += await asyncio.gather(*(open_citizen(pk, token) for pk, token, _user in batch))
    await asyncio.sleep(1)
    # This client holds 2,000 connections: what it has built so far out of
    # its garbage collector's sight, as the servers do (config.memory), so
    # that a pause of the measuring process is not counted as latency.
    gc.collect()
    gc.freeze()

    count = 0
    begin = time.perf_counter()
    interval = 1 / rate
    while time.perf_counter() - begin < duration:
        index = count % len(citizen_sockets)
        client_id = f"b{count}"
        sent[client_id] = time.perf_counter()
        await citizen_sockets[index].send(
            json.dumps({"type": "message", "client_id": client_id, "text": f"Message {count}"})
        )
        count += 1
        await asyncio.sleep(max(0.0, begin + count * interval - time.perf_counter()))
    deadline = time.perf_counter() + 15
    while sent and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    elapsed = time.perf_counter() - begin
    for ws in citizen_sockets + agent_sockets:
        await ws.close()
    for task in tasks:
        task.cancel()
    return count, latencies, len(sent), elapsed, len(citizen_sockets) + len(agent_sockets)


RAW_PEER = """
import asyncio, json, os, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django; django.setup()
from channels.layers import get_channel_layer
async def main():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("bench-raw-b", channel)
    print("ready", flush=True)
    while True:
        message = await layer.receive(channel)
        if message.get("stop"):
            break
        await layer.group_send("bench-raw-a", {"type": "echo", "t": message["t"], "received": time.time()})
asyncio.run(main())
"""


async def run_raw(messages, rate):
    """group_send from this process to the peer's group: one-way latency."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("bench-raw-a", channel)
    latencies = []
    for _ in range(messages):
        await layer.group_send("bench-raw-b", {"type": "ping", "t": time.time()})
        reply = await layer.receive(channel)
        latencies.append(reply["received"] - reply["t"])
        await asyncio.sleep(1 / rate)
    await layer.group_send("bench-raw-b", {"type": "ping", "stop": True})
    return latencies


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--citizens", type=int, default=1000)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--rate", type=float, default=50.0, help="citizen messages per second, in all")
    parser.add_argument("--duration", type=float, default=20.0)
    args = parser.parse_args()
    os.environ["REDIS_URL"] = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
    conversations = prepare(args.citizens, args.agents)
    cookies = {user.pk: session_cookie(user) for _pk, _token, user in conversations[: args.agents]}

    from django.conf import settings

    peer = subprocess.Popen(
        [sys.executable, "-c", RAW_PEER],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": f"{PG}/{BENCH_DATABASE}", "REDIS_URL": settings.REDIS_URL},
        stdout=subprocess.PIPE,
        text=True,
    )
    peer.stdout.readline()
    raw = asyncio.run(run_raw(300, 100))
    peer.wait(timeout=30)

    ports = [free_port(), free_port()]
    servers = [start_server(port) for port in ports]
    try:
        for port in ports:
            wait_port(port)
        idle = sum(rss_kb(s.pid) for s in servers)
        count, latencies, lost, elapsed, connections = asyncio.run(
            run_chat(
                f"ws://127.0.0.1:{ports[0]}",
                f"ws://127.0.0.1:{ports[1]}",
                conversations,
                cookies,
                args.rate,
                args.duration,
            )
        )
        loaded = sum(rss_kb(s.pid) for s in servers)
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    ms = [value * 1000 for value in latencies]
    raw_ms = [value * 1000 for value in raw]
    p99 = percentile(ms, 99) if ms else None
    raw_p99 = percentile(raw_ms, 99)
    emit(
        {
            "bench": "chat",
            "citizens": args.citizens,
            "agents": args.agents,
            "connections": connections,
            "servers": 2,
            "messages_sent": count,
            "messages_received": len(latencies),
            "messages_lost": lost,
            "messages_per_s": round(len(latencies) / elapsed, 1),
            "round_trip_p50_ms": round(statistics.median(ms), 2) if ms else None,
            "round_trip_p99_ms": round(p99, 2) if p99 else None,
            "raw_group_send_p50_ms": round(statistics.median(raw_ms), 2),
            "raw_group_send_p99_ms": round(raw_p99, 2),
            "ratio_p99_to_raw": round(p99 / raw_p99, 2) if p99 else None,
            "memory_per_connection_kb": round((loaded - idle) / max(connections, 1), 1),
            "targets": {"round_trip_p99_ms": 100, "ratio_to_raw": 3},
        }
    )


if __name__ == "__main__":
    main()
