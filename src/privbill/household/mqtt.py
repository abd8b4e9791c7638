"""A thin layer over ``paho-mqtt``: connect to the broker, publish with QoS 1 and wait for the
broker's acknowledgement, subscribe with acknowledgements sent only after the message is kept."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from privbill.errors import AgentError

Handler = Callable[[str, bytes, int, int], None]  # topic, payload, mid, qos


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str = "127.0.0.1"
    port: int = 1883

    @classmethod
    def parse(cls, text: str) -> BrokerAddress:
        host, _, port = text.rpartition(":")
        if not host:
            return cls(text, 1883)
        try:
            return cls(host, int(port))
        except ValueError:
            raise AgentError(f"broker address {text!r} is not HOST:PORT", obj="broker") from None

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class Connection:
    """One MQTT client session with its network loop in a background thread.

    ``persistent`` keeps the session at the broker between connections (clean session off), so
    QoS 1 messages published while the client is away are delivered when it returns (up to the
    broker's queue limit; anything beyond is re-sent on request, ``privbill.household.link``).
    With ``manual_ack`` incoming QoS 1 messages are acknowledged by :meth:`ack`, after the
    receiver has stored them."""

    def __init__(
        self,
        broker: BrokerAddress,
        client_id: str,
        *,
        persistent: bool = False,
        manual_ack: bool = False,
        on_message: Handler | None = None,
        subscriptions: tuple[str, ...] = (),
        inflight: int = 100,
        timeout: float = 15.0,
    ) -> None:
        self.broker = broker
        self.subscriptions = subscriptions
        self._connected = threading.Event()
        self._error: str | None = None
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=not persistent,
            protocol=paho.MQTTv311,
            manual_ack=manual_ack,
        )
        self.client.max_inflight_messages_set(inflight)
        self.client.max_queued_messages_set(0)
        self._handler = on_message
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = lambda *_a: self._connected.set()
        if on_message is not None:
            self.client.on_message = self._on_message
        try:
            self.client.connect(broker.host, broker.port, keepalive=30)
        except OSError as exc:
            raise AgentError(
                f"cannot reach the MQTT broker at {broker}: {exc.strerror or exc}", obj="broker"
            ) from None
        self.client.loop_start()
        if not self._connected.wait(timeout):
            self.close()
            raise AgentError(
                f"the MQTT broker at {broker} did not accept the connection"
                + (f": {self._error}" if self._error else ""),
                obj="broker",
            )

    def _on_connect(self, client: Any, _u: Any, _flags: Any, reason: Any, _p: Any) -> None:
        if getattr(reason, "is_failure", False):
            self._error = str(reason)
            return
        if not self.subscriptions:
            self._connected.set()
            return
        # connected once the broker has acknowledged the subscriptions (SUBACK)
        client.subscribe([(topic, 1) for topic in self.subscriptions])

    def _on_disconnect(self, *_args: Any) -> None:
        self._connected.clear()

    def _on_message(self, _client: Any, _u: Any, msg: Any) -> None:
        assert self._handler is not None
        self._handler(msg.topic, bytes(msg.payload), msg.mid, msg.qos)

    def ack(self, mid: int, qos: int) -> None:
        if qos:
            self.client.ack(mid, qos)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> Any:
        """Publish with QoS 1; returns the message info to wait on."""
        return self.client.publish(topic, payload, qos=1, retain=retain)

    def publish_wait(
        self, topic: str, payload: bytes, *, retain: bool = False, timeout: float = 30.0
    ) -> None:
        info = self.publish(topic, payload, retain=retain)
        wait_all([info], timeout)

    def close(self) -> None:
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()


def wait_all(infos: list[Any], timeout: float = 60.0) -> None:
    """Wait until the broker acknowledged every message (PUBACK)."""
    deadline = time.monotonic() + timeout
    for info in infos:
        while not info.is_published():
            if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
                raise AgentError(f"publish failed: {paho.error_string(info.rc)}", obj="broker")
            left = deadline - time.monotonic()
            if left <= 0:
                raise AgentError("the MQTT broker did not acknowledge in time", obj="broker")
            info.wait_for_publish(
                min(left, 1.0)
            ) if info.rc == paho.MQTT_ERR_SUCCESS else time.sleep(0.05)
