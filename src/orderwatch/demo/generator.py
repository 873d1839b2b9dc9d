"""Generates the demo shop: customers, suppliers, carriers, orders and their whole history.

The output is a time-ordered list of :class:`TimedCommand` — the same commands the API, the
webhooks and the Olist importer produce — so the demo is replayed through the live ingestion
path (``services/replay.py``). Distributions come from ``calibration.py`` (measured on Olist);
one regional carrier disruption is built in for incidents and drills to show. The same seed
gives the same shop, to the byte.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from orderwatch.demo import calibration as cal
from orderwatch.domain.commands import (
    Command,
    CustomerData,
    OrderLineData,
    RecordFeedback,
    RecordMilestone,
    RecordTrackingEvent,
    TimedCommand,
    UpsertOrder,
    UpsertShipment,
)
from orderwatch.domain.orders import OrderMilestone
from orderwatch.domain.shipments import ShipmentStatus as S

LOCAL = ZoneInfo("America/Sao_Paulo")
SOURCE = "demo"


@dataclass(frozen=True, slots=True)
class CarrierProfile:
    """A demo carrier: its share of parcels, speed factor and how often it loses parcels."""

    code: str
    name: str
    share: float
    speed: float
    loss_factor: float
    url: str


CARRIERS = (
    CarrierProfile(
        "correios",
        "Correios",
        0.45,
        1.00,
        1.2,
        "https://rastreamento.correios.com.br/?objeto={tracking_number}",
    ),
    CarrierProfile(
        "jadlog", "Jadlog", 0.25, 1.05, 1.0, "https://www.jadlog.com.br/tracking?cte={tracking_number}"
    ),
    CarrierProfile("loggi", "Loggi", 0.15, 0.75, 0.6, "https://www.loggi.com/rastreador/{tracking_number}"),
    CarrierProfile(
        "total-express",
        "Total Express",
        0.15,
        0.95,
        0.9,
        "https://tracking.totalexpress.com.br/?q={tracking_number}",
    ),
)


@dataclass(frozen=True, slots=True)
class Disruption:
    """A regional carrier disruption: parcels of ``carrier`` to ``region`` in the window stall."""

    carrier: str
    region: str
    start: datetime
    end: datetime
    extra_days: float
    loss_share: float
    reason: str


@dataclass
class DemoShop:
    """What the generator made: the commands in time order and a summary."""

    commands: list[TimedCommand]
    start: datetime
    end: datetime
    seed: int
    disruption: Disruption
    carriers: tuple[CarrierProfile, ...]
    counts: dict[str, int] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)


_FIRST_NAMES = {
    "pt_BR": ("Ana", "João", "Maria", "Pedro", "Lucas", "Juliana", "Carlos", "Beatriz", "Rafael", "Camila"),
    "en": ("Emma", "Liam", "Olivia", "Noah", "Ava", "James", "Mia", "Lucas", "Sophia", "Ethan"),
    "zh_CN": ("伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军"),
}
_LAST_NAMES = {
    "pt_BR": ("Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira", "Costa", "Almeida"),
    "en": ("Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Walker"),
    "zh_CN": ("王", "李", "张", "刘", "陈", "杨", "赵", "黄"),
}
_CAPITALS = {
    "SP": "São Paulo",
    "RJ": "Rio de Janeiro",
    "MG": "Belo Horizonte",
    "RS": "Porto Alegre",
    "PR": "Curitiba",
    "SC": "Florianópolis",
    "BA": "Salvador",
    "DF": "Brasília",
    "ES": "Vitória",
    "GO": "Goiânia",
    "PE": "Recife",
    "CE": "Fortaleza",
    "PA": "Belém",
    "MT": "Cuiabá",
    "MA": "São Luís",
    "MS": "Campo Grande",
    "PB": "João Pessoa",
    "RN": "Natal",
    "AL": "Maceió",
    "PI": "Teresina",
    "SE": "Aracaju",
    "TO": "Palmas",
    "RO": "Porto Velho",
    "AM": "Manaus",
}
_CATEGORIES = (
    "bed_bath_table",
    "health_beauty",
    "sports_leisure",
    "furniture_decor",
    "computers_accessories",
    "housewares",
    "watches_gifts",
    "telephony",
    "garden_tools",
    "auto",
    "toys",
    "cool_stuff",
)


def _pick(rng: random.Random, shares: dict[str, float]) -> str:
    return rng.choices(list(shares), weights=list(shares.values()))[0]


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0.0, sigma))


def _transit_median(origin: str, destination: str) -> float:
    if origin == destination:
        return cal.SAME_STATE_TRANSIT_MEDIAN
    base = cal.TRANSIT_MEDIAN_FROM_SP.get(destination, cal.TRANSIT_MEDIAN_OTHER)
    return base if origin == "SP" else base * 1.1


class _Generator:
    def __init__(self, *, orders: int, days: int, end: datetime, seed: int) -> None:
        self.rng = random.Random(seed)
        self.total, self.days, self.end, self.seed = orders, days, end.astimezone(UTC), seed
        self.start = self.end - timedelta(days=days)
        self.out: list[TimedCommand] = []
        self.outcomes: Counter[str] = Counter()
        self.suppliers = self._suppliers()
        self.products = [
            (f"P{n:05d}", self.rng.choice(_CATEGORIES), self.rng.randrange(len(self.suppliers)))
            for n in range(400)
        ]
        self.customers: list[CustomerData] = []
        self.promise_days: dict[tuple[str, str, str], float] = {}
        self.disruption = Disruption(
            carrier="jadlog",
            region="RJ",
            start=self.start + timedelta(days=days * 0.6),
            end=self.start + timedelta(days=days * 0.6 + 6),
            extra_days=7.0,
            loss_share=0.08,
            reason="Greve no centro de distribuição do Rio de Janeiro",
        )

    def _suppliers(self) -> list[tuple[str, str, float]]:
        suppliers = []
        for n in range(40):
            region = _pick(self.rng, cal.SUPPLIER_REGIONS)
            # A few suppliers are chronically slow: they are what the scorecards must find (D7).
            reliability = 2.2 if n in (3, 17, 29) else _lognormal(self.rng, 1.0, 0.25)
            suppliers.append((f"S{n:03d}", region, reliability))
        return suppliers

    # -------------------------------------------------------------- volume

    def _purchase_times(self) -> list[datetime]:
        weights = []
        for day in range(self.days):
            moment = (self.start + timedelta(days=day)).astimezone(LOCAL)
            growth = 1.0 + 0.3 * day / self.days
            weights.append(growth * cal.WEEKDAY_SHARES[moment.weekday()] * self._peak(moment))
        scale = self.total / sum(weights)
        times: list[datetime] = []
        for day, weight in enumerate(weights):
            count = int(weight * scale + self.rng.random())
            date = (self.start + timedelta(days=day)).astimezone(LOCAL).date()
            for _ in range(count):
                hour = self.rng.choices(range(24), weights=cal.HOUR_SHARES)[0]
                local = datetime.combine(date, time(hour), LOCAL) + timedelta(
                    seconds=self.rng.randrange(3600)
                )
                times.append(local.astimezone(UTC))
        return sorted(t for t in times if t < self.end)

    @staticmethod
    def _peak(moment: datetime) -> float:
        """Promotions and holidays: Dia dos Pais, 11.11, Black Friday week, Christmas run-up."""
        month, day = moment.month, moment.day
        if month == 11 and 20 <= day <= 30:
            return 2.2
        if month == 11 and day == 11:
            return 2.0
        if month == 8 and 3 <= day <= 10:
            return 1.4
        if month == 12 and 5 <= day <= 20:
            return 1.5
        if month == 9 and 12 <= day <= 16:  # "Semana do Cliente" promotion
            return 1.6
        return 1.0

    # -------------------------------------------------------------- one order

    def _customer(self, n: int) -> CustomerData:
        if self.customers and self.rng.random() < cal.RETURNING_CUSTOMER_SHARE:
            return self.rng.choice(self.customers)
        language = self.rng.choices(["pt_BR", "en", "zh_CN"], weights=[0.8, 0.1, 0.1])[0]
        first, last = self.rng.choice(_FIRST_NAMES[language]), self.rng.choice(_LAST_NAMES[language])
        name = f"{last}{first}" if language == "zh_CN" else f"{first} {last}"
        region = _pick(self.rng, cal.CUSTOMER_REGIONS)
        customer = CustomerData(
            ref=f"C{n:06d}",
            name=name,
            email=f"customer{n:06d}@example.com",
            phone=f"+55 11 9{self.rng.randrange(10**7, 10**8)}",
            language=language,
            person_ref=f"P{n:06d}",
            zip_prefix=f"{self.rng.randrange(1000, 99999):05d}",
            city=_CAPITALS[region],
            region=region,
            country="BR",
            address_line=f"Rua {self.rng.choice(_LAST_NAMES['pt_BR'])}, {self.rng.randrange(1, 2000)}",
        )
        self.customers.append(customer)
        return customer

    def _promise(self, origin: str, destination: str, carrier: CarrierProfile) -> float:
        """Days to promise on a lane: the lane's delivery-time quantile, estimated once by sampling."""
        key = (origin, destination, carrier.code)
        if key not in self.promise_days:
            sampler = random.Random(f"{self.seed}:{key}")
            samples = sorted(
                _lognormal(sampler, cal.DISPATCH_MEDIAN_DAYS, cal.DISPATCH_SIGMA)
                + _lognormal(sampler, _transit_median(origin, destination) * carrier.speed, cal.TRANSIT_SIGMA)
                for _ in range(400)
            )
            self.promise_days[key] = math.ceil(samples[int(cal.PROMISE_QUANTILE * len(samples))])
        return self.promise_days[key]

    def _emit(self, at: datetime, command: Command) -> None:
        if at <= self.end:
            self.out.append(TimedCommand(at, command))

    def order(self, n: int, purchased_at: datetime) -> None:
        rng = self.rng
        ref = f"DEMO-{n:06d}"
        customer = self._customer(n)
        count = rng.choices(list(cal.ITEMS_PER_ORDER), weights=list(cal.ITEMS_PER_ORDER.values()))[0]
        first_product = rng.choice(self.products)
        supplier_ref, origin, reliability = self.suppliers[first_product[2]]
        lines = tuple(
            OrderLineData(
                line_no=i + 1,
                product_ref=first_product[0] if i == 0 else rng.choice(self.products)[0],
                supplier_ref=supplier_ref,
                quantity=1,
                unit_price_cents=round(_lognormal(rng, cal.PRICE_MEDIAN, cal.PRICE_SIGMA) * 100),
                freight_cents=round(_lognormal(rng, cal.FREIGHT_MEDIAN, cal.FREIGHT_SIGMA) * 100),
                dispatch_deadline=purchased_at + timedelta(days=cal.DISPATCH_DEADLINE_DAYS),
            )
            for i in range(count)
        )
        carrier = rng.choices(CARRIERS, weights=[c.share for c in CARRIERS])[0]
        destination = customer.region or "SP"
        promise_day = (
            purchased_at.astimezone(LOCAL) + timedelta(days=self._promise(origin, destination, carrier))
        ).date()
        promised_at = datetime.combine(promise_day, time(0), LOCAL).astimezone(UTC)
        self._emit(
            purchased_at,
            UpsertOrder(
                ref=ref,
                purchased_at=purchased_at,
                promised_at=promised_at,
                customer=customer,
                lines=lines,
                source=SOURCE,
            ),
        )
        approved = purchased_at + (
            timedelta(minutes=rng.uniform(5, 60))
            if rng.random() < 0.7
            else timedelta(hours=rng.uniform(8, 40))
        )
        self._emit(approved, RecordMilestone(ref, OrderMilestone.approved, approved, SOURCE))
        roll = rng.random()
        if roll < cal.CANCELED_SHARE + cal.UNAVAILABLE_SHARE:
            milestone = OrderMilestone.canceled if roll < cal.CANCELED_SHARE else OrderMilestone.unavailable
            at = approved + timedelta(hours=rng.uniform(4, 60))
            self._emit(at, RecordMilestone(ref, milestone, at, SOURCE))
            self.outcomes[milestone.value] += 1
            return
        peak = self._peak(purchased_at.astimezone(LOCAL))
        dispatch = (
            _lognormal(rng, cal.DISPATCH_MEDIAN_DAYS, cal.DISPATCH_SIGMA)
            * reliability
            * (1 + (peak - 1) * 0.3)
        )
        handoff = max(approved + timedelta(hours=2), purchased_at + timedelta(days=dispatch))
        self._shipment(ref, customer, carrier, origin, destination, handoff, promised_at, peak)

    def _shipment(
        self,
        ref: str,
        customer: CustomerData,
        carrier: CarrierProfile,
        origin: str,
        destination: str,
        handoff: datetime,
        promised_at: datetime,
        peak: float,
    ) -> None:
        rng = self.rng
        number = (
            f"{rng.choice('ABCDEFGHJKLMNOPQRSTUVWXYZ')}{rng.choice('ABCDEFGHJKLMNOPQRSTUVWXYZ')}"
            f"{rng.randrange(10**8, 10**9)}BR"
            if carrier.code == "correios"
            else f"{rng.randrange(10**11, 10**12)}"
        )
        self._emit(
            handoff,
            UpsertShipment(
                order_ref=ref,
                carrier_code=carrier.code,
                tracking_number=number,
                origin_region=origin,
                destination_region=destination,
                promised_at=promised_at,
                source=SOURCE,
            ),
        )
        transit = _lognormal(rng, _transit_median(origin, destination) * carrier.speed, cal.TRANSIT_SIGMA)
        transit *= 1 + (peak - 1) * 0.15
        d = self.disruption
        disrupted = (
            carrier.code == d.carrier
            and destination == d.region
            and d.start - timedelta(days=transit) < handoff < d.end
        )
        if disrupted:
            transit += d.extra_days * rng.uniform(0.5, 1.2)
        arrival = handoff + timedelta(days=transit)

        def scan(at: datetime, status: S, code: str, text: str, location: str | None = None) -> None:
            self._emit(
                at,
                RecordTrackingEvent(
                    carrier_code=carrier.code,
                    tracking_number=number,
                    status=status,
                    occurred_at=at,
                    raw_code=code,
                    raw_text=text,
                    location=location,
                    source=SOURCE,
                    order_ref=ref,
                ),
            )

        scan(handoff, S.picked_up, "PO-01", "Objeto postado", _CAPITALS.get(origin))
        hub = handoff
        while hub + timedelta(days=1.6) < arrival - timedelta(hours=12):
            hub += timedelta(days=rng.uniform(0.8, 2.2))
            scan(hub, S.in_transit, "RO-01", "Objeto em trânsito", f"CTE {_CAPITALS.get(destination)}")
        if disrupted:
            scan(
                # The carrier reports the strike on parcels it already holds.
                max(d.start, handoff) + timedelta(hours=rng.uniform(2, 24)),
                S.exception,
                "EX-77",
                d.reason,
                _CAPITALS[d.region],
            )
        loss = cal.LOST_SHARE * carrier.loss_factor + (d.loss_share if disrupted else 0.0)
        roll = rng.random()
        if roll < loss:
            self.outcomes["lost"] += 1
            if rng.random() < 0.4:  # the carrier eventually admits the loss; otherwise it just goes quiet
                scan(arrival + timedelta(days=rng.uniform(10, 20)), S.lost, "LO-09", "Objeto extraviado")
            return
        attempt = arrival.replace(hour=13) + timedelta(minutes=rng.randrange(-240, 300))
        attempt = max(attempt, hub + timedelta(hours=6))
        scan(
            attempt - timedelta(hours=4),
            S.out_for_delivery,
            "OEC-01",
            "Objeto saiu para entrega ao destinatário",
        )
        roll -= loss
        if roll < cal.WRONG_ADDRESS_SHARE:
            self.outcomes["wrong_address"] += 1
            scan(attempt, S.delivery_failed, "BDE-26", "Endereço incorreto ou incompleto")
            if rng.random() < 0.6:
                self._delivered(ref, scan, attempt + timedelta(days=rng.uniform(2, 5)), promised_at)
            else:
                scan(attempt + timedelta(days=1), S.returning, "BDE-50", "Objeto em devolução ao remetente")
                scan(attempt + timedelta(days=8), S.returned, "BDE-23", "Objeto devolvido ao remetente")
            return
        roll -= cal.WRONG_ADDRESS_SHARE
        if roll < cal.REFUSED_SHARE:
            self.outcomes["refused"] += 1
            scan(attempt, S.refused, "BDE-08", "Destinatário recusou o objeto")
            scan(attempt + timedelta(days=1), S.returning, "BDE-50", "Objeto em devolução ao remetente")
            scan(attempt + timedelta(days=9), S.returned, "BDE-23", "Objeto devolvido ao remetente")
            return
        roll -= cal.REFUSED_SHARE
        if roll < cal.DAMAGED_SHARE:
            self.outcomes["damaged"] += 1
            scan(attempt - timedelta(hours=2), S.damaged, "BDE-20", "Objeto avariado")
            return
        self._delivered(ref, scan, attempt, promised_at)

    def _delivered(self, ref: str, scan: object, at: datetime, promised_at: datetime) -> None:
        scan(at, S.delivered, "BDE-01", "Objeto entregue ao destinatário")  # type: ignore[operator]
        late = at > promised_at
        self.outcomes["delivered_late" if late else "delivered_on_time"] += 1
        if self.rng.random() < cal.REVIEW_RESPONSE_RATE:
            score = self.rng.choices(range(1, 6), weights=cal.SCORES_LATE if late else cal.SCORES_ON_TIME)[0]
            created = at + timedelta(hours=self.rng.uniform(20, 72))
            self._emit(
                created,
                RecordFeedback(
                    order_ref=ref,
                    ref=f"R-{ref}",
                    score=score,
                    created_at=created,
                    source=SOURCE,
                    comment=None if score >= 4 else "Entrega atrasou" if late else None,
                ),
            )


def generate(*, orders: int = 20_000, days: int = 120, end: datetime, seed: int = 7) -> DemoShop:
    """A demo shop of about ``orders`` orders over the ``days`` before ``end``."""
    generator = _Generator(orders=orders, days=days, end=end, seed=seed)
    for n, purchased_at in enumerate(generator._purchase_times(), start=1):
        generator.order(n, purchased_at)
    commands = sorted(generator.out, key=lambda c: c.at)
    counts = Counter(type(c.command).__name__ for c in commands)
    return DemoShop(
        commands=commands,
        start=generator.start,
        end=generator.end,
        seed=seed,
        disruption=generator.disruption,
        carriers=CARRIERS,
        counts=dict(counts),
        outcomes=generator.outcomes,
    )
