"""Places and reads an order with a client generated from docs/api/openapi.json
by openapi-python-client (package `food_client`, see client.sh): its typed
functions and models only, no hand-written HTTP. Exits non-zero on any
mismatch.

Environment (from .ci/contract/stack.sh): FOOD_BASE_URL, FOOD_CUSTOMER_KEY,
FOOD_COURIER_KEY.
"""

import datetime
import os
import sys
import time
import uuid

from food_client import AuthenticatedClient
from food_client.api.deliveries import get_status, update_status
from food_client.api.menu import list_items
from food_client.api.orders import create_order, get_order, list_orders
from food_client.models import (
    CreateOrder,
    Delivery,
    DeliveryStatus,
    Error,
    ErrorCode,
    ItemList,
    Order,
    OrderItemInput,
    OrderList,
    OrderStatus,
    UpdateStatus,
)

checks = 0


def check(condition, what):
    global checks
    checks += 1
    if not condition:
        sys.exit(f"client: FAILED: {what}")


def client(key):
    # raise_on_unexpected_status: a status the document does not list is an
    # error, not a None.
    return AuthenticatedClient(
        base_url=os.environ["FOOD_BASE_URL"], token=key, raise_on_unexpected_status=True
    )


customer = client(os.environ["FOOD_CUSTOMER_KEY"])
courier = client(os.environ["FOOD_COURIER_KEY"])

# The menu: the available items of a kitchen.
menu = list_items.sync(client=customer, restaurant="maison-tandoor", available=True, limit=5)
check(isinstance(menu, ItemList), f"list_items answers an ItemList, not {menu!r}")
check(len(menu.items) > 0, "the menu has items")
check(all(i.restaurant_id == "maison-tandoor" and i.available for i in menu.items),
      "every item is maison-tandoor's and available")
item = menu.items[0]
check(isinstance(item.price_cents, int) and item.price_cents > 0, "an item's price is integer cents")

# Place an order as the customer.
body = CreateOrder(
    items=[OrderItemInput(item_id=item.id, quantity=2)],
    delivery_address="12 Rue de la République, 69002 Lyon",
    note="from a generated client",
)
placed = create_order.sync_detailed(client=customer, body=body, idempotency_key=str(uuid.uuid4()))
check(placed.status_code == 201, f"create_order answers 201, not {placed.status_code}")
order = placed.parsed
check(isinstance(order, Order), f"create_order answers an Order, not {order!r}")
check(order.status == OrderStatus.PLACED, f"the order is PLACED, not {order.status}")
check(order.restaurant_id == "maison-tandoor", "the order is the item's restaurant's")
check(len(order.items) == 1 and order.items[0].item_id == item.id and order.items[0].quantity == 2,
      "the order has the line asked for")
check(order.items[0].unit_price_cents == item.price_cents, "the line is priced as the menu says")
check(order.total_cents == 2 * item.price_cents, "the total is the line's")
check(isinstance(order.created_at, datetime.datetime), "created_at is a date-time")

# Read it back.
read = get_order.sync(order.id, client=customer)
check(isinstance(read, Order), f"get_order answers an Order, not {read!r}")
check(read.id == order.id and read.status == OrderStatus.PLACED, "the order reads back PLACED")
check(read.to_dict() == order.to_dict(), "the order reads back as it was placed")
mine = list_orders.sync(client=customer)
check(isinstance(mine, OrderList) and order.id in [o.id for o in mine.orders],
      "list_orders has the order")

# Its delivery: created once the delivery service has consumed the order's
# event, so asked again for a few seconds.
deadline = time.monotonic() + 10
while True:
    answer = get_status.sync_detailed(order.id, client=customer)
    if answer.status_code == 200 or time.monotonic() > deadline:
        break
    time.sleep(0.2)
delivery = answer.parsed
check(isinstance(delivery, Delivery), f"get_status answers a Delivery, not {answer.status_code} {delivery!r}")
check(delivery.order_id == order.id, "the delivery is the order's")
check(delivery.status == DeliveryStatus.PENDING, f"the delivery is PENDING, not {delivery.status}")
check(delivery.item_count == 2 and delivery.total_cents == order.total_cents,
      "the delivery carries the order's count and total")

# The courier claims it with the typed update body.
claimed = update_status.sync(order.id, client=courier,
                             body=UpdateStatus(status=DeliveryStatus.ASSIGNED),
                             if_match=str(delivery.version))
check(isinstance(claimed, Delivery), f"update_status answers a Delivery, not {claimed!r}")
check(claimed.status == DeliveryStatus.ASSIGNED and claimed.courier, "the courier has claimed it")
check(claimed.version > delivery.version, "the claim bumped the version")

# An error is typed too: another order id is a 404 with the `not_found` code.
missing = get_order.sync_detailed(str(uuid.uuid4()), client=customer)
check(missing.status_code == 404, f"an unknown order is 404, not {missing.status_code}")
check(isinstance(missing.parsed, Error) and missing.parsed.error.code == ErrorCode.NOT_FOUND,
      f"its body is an Error with code not_found, not {missing.parsed!r}")

print(f"client: placed and read order {order.id} with the generated client; {checks} checks passed")
