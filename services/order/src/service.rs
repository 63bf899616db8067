//! The `OrderService` gRPC implementation: placing orders, the kitchen's
//! calls (accept, reject, ready) and cancelling.

use chrono::Utc;
use food_api::{ErrorCode, Order, OrderStatus};
use food_events::{Envelope, Payload, new_envelope, topics::Topics};
use food_kit::{
    Db,
    grpc::{db_error, error, page_error, status_filter, trace_id},
    outbox::{OutboxMessage, Waker, enqueue},
    page::Keyset,
};
use food_proto::{
    events::v1::OrderCancelled,
    order::v1::{
        self as pb, CancelOrderRequest, CreateOrderRequest, GetOrderRequest, ListOrdersRequest,
        ListOrdersResponse, order_service_server::OrderService,
    },
};
use tonic::{Request, Response, Status};

use crate::{
    menu::MenuItems,
    pricing,
    store::{self, Committer, Current, Move, NewOrder, Stored},
    validate,
};

/// What a kitchen call decides once it has read the order.
enum Decision<'a> {
    /// Apply this move and emit its OrderStatusChanged.
    Move(Move<'a>),
    /// Nothing to change (the same `ready_by` again): answer the order as it is.
    Unchanged,
}

pub struct OrderApi {
    db: Db,
    menu: MenuItems,
    committer: Committer,
    topics: Topics,
    waker: Waker,
}

impl OrderApi {
    pub fn new(
        db: Db,
        menu: MenuItems,
        committer: Committer,
        topics: Topics,
        waker: Waker,
    ) -> Self {
        Self {
            db,
            menu,
            committer,
            topics,
            waker,
        }
    }

    async fn create(&self, req: Request<CreateOrderRequest>) -> Result<pb::Order, Status> {
        let trace = trace_id(req.metadata());
        let valid = validate::create_order(req.get_ref())?;
        let hash = valid.request_hash();
        if let Some(key) = &valid.idempotency_key
            && let Some(existing) = self.replay(&valid.customer_id, key, &hash).await?
        {
            return Ok(existing.into());
        }
        let priced = self.price(&valid).await?;
        let stored = self
            .committer
            .store(NewOrder {
                order: priced.order,
                kitchen: priced.kitchen,
                idempotency_key: valid.idempotency_key.clone(),
                request_hash: hash.clone(),
                trace_id: trace,
            })
            .await
            .map_err(db_error)?;
        match stored {
            Stored::Created(order) => {
                tracing::info!(
                    order_id = %order.id,
                    customer_id = %order.customer_id,
                    restaurant_id = order.restaurant_id.as_deref().unwrap_or_default(),
                    total_cents = order.total_cents,
                    "order placed"
                );
                Ok(order.into())
            }
            Stored::KeyTaken => {
                let key = valid.idempotency_key.as_deref().unwrap_or_default();
                match self.replay(&valid.customer_id, key, &hash).await? {
                    Some(o) => Ok(o.into()),
                    None => Err(error(
                        ErrorCode::Unavailable,
                        "idempotency key race, retry",
                        &[],
                    )),
                }
            }
        }
    }

    /// The first order made with this key, if the request is the same; a
    /// different request with the same key is ALREADY_EXISTS.
    async fn replay(
        &self,
        customer_id: &str,
        key: &str,
        hash: &str,
    ) -> Result<Option<Order>, Status> {
        match store::find_by_key(&self.db, customer_id, key)
            .await
            .map_err(db_error)?
        {
            None => Ok(None),
            Some((order, h)) if h == hash => Ok(Some(order)),
            Some((order, _)) => Err(error(
                ErrorCode::IdempotencyConflict,
                "this idempotency key was used for a different order",
                &[("field", "idempotency_key".into()), ("order_id", order.id)],
            )),
        }
    }

    /// Prices the lines from the menu (see `pricing` for the checks and
    /// their order); client prices are never trusted.
    async fn price(&self, v: &validate::Valid) -> Result<pricing::Priced, Status> {
        let mut ids: Vec<String> = v.lines.iter().map(|(id, _)| id.clone()).collect();
        ids.sort();
        ids.dedup();
        let found = self.menu.get(&ids).await.map_err(|s| {
            tracing::warn!(code = ?s.code(), message = s.message(), "menu-service call failed");
            error(
                ErrorCode::Unavailable,
                "the menu service is unavailable, try again",
                &[("dependency", "menu".into())],
            )
        })?;
        // Stored as microseconds: answer with what a later read returns.
        let now = food_kit::db::micros_to_datetime(Utc::now().timestamp_micros());
        pricing::price(v, &found, uuid::Uuid::now_v7().to_string(), now)
    }

    async fn cancel(&self, req: Request<CancelOrderRequest>) -> Result<pb::Order, Status> {
        let trace = trace_id(req.metadata());
        let req = req.into_inner();
        // An order moved between the read and the conditional update (a
        // kitchen call, a delivery event, a replica) is read again: it may
        // still be cancellable, now from PREPARING.
        for _ in 0..3 {
            if let Some(order) = self.try_cancel(&trace, &req).await? {
                return Ok(order);
            }
        }
        Err(error(
            ErrorCode::Unavailable,
            "the order keeps changing, retry",
            &[("order_id", req.id.clone())],
        ))
    }

    /// One attempt of [`OrderApi::cancel`]; `None` when the order moved
    /// meanwhile.
    async fn try_cancel(
        &self,
        trace: &str,
        req: &CancelOrderRequest,
    ) -> Result<Option<pb::Order>, Status> {
        let mut tx = self.db.begin().await.map_err(db_error)?;
        let Some(Current {
            status,
            customer_id,
            ..
        }) = store::current_in_tx(&mut tx, &req.id)
            .await
            .map_err(db_error)?
        else {
            return Err(not_found(&req.id));
        };
        if status == OrderStatus::Cancelled {
            // Cancelling twice is not an error: the caller's wish holds.
            drop(tx);
            return self.get(&req.id).await.map(Some);
        }
        if !status.is_cancellable() {
            return Err(not_cancellable(status));
        }
        let cancel = Move::new(status, OrderStatus::Cancelled);
        if !store::apply_move(&mut tx, &req.id, &cancel)
            .await
            .map_err(db_error)?
        {
            return Ok(None);
        }
        let order = self.load_in(&mut tx, &req.id).await?;
        let cancelled = new_envelope(
            trace,
            Payload::OrderCancelled(OrderCancelled {
                order_id: req.id.clone(),
                customer_id,
                reason: req.reason.clone(),
            }),
        );
        let changed = store::status_changed(trace, status, order.clone());
        self.commit_with(tx, &req.id, &[&cancelled, &changed])
            .await?;
        tracing::info!(order_id = %req.id, "order cancelled");
        Ok(Some(order.into()))
    }

    /// A kitchen call on order `id`: reads it in a transaction, lets
    /// `decide` refuse or choose the move, applies the move only if the
    /// order is still where it was read, and stores the OrderStatusChanged
    /// with it. An order moved meanwhile (another call, a delivery event, a
    /// replica) is read and decided again, so a refusal names the status
    /// that refused. With `scope` (a restaurant key's restaurant), another
    /// restaurant's order is NOT_FOUND like an unknown id.
    async fn kitchen<'a>(
        &self,
        trace: &str,
        id: &str,
        scope: Option<&str>,
        action: &'static str,
        decide: impl Fn(&Current) -> Result<Decision<'a>, Status>,
    ) -> Result<pb::Order, Status> {
        for _ in 0..3 {
            let mut tx = self.db.begin().await.map_err(db_error)?;
            let current = store::current_in_tx(&mut tx, id)
                .await
                .map_err(db_error)?
                .filter(|c| scope.is_none_or(|r| c.restaurant_id.as_deref() == Some(r)))
                .ok_or_else(|| not_found(id))?;
            let m = match decide(&current)? {
                Decision::Unchanged => {
                    drop(tx);
                    return self.get(id).await;
                }
                Decision::Move(m) => m,
            };
            if !store::apply_move(&mut tx, id, &m).await.map_err(db_error)? {
                continue;
            }
            let order = self.load_in(&mut tx, id).await?;
            let changed = store::status_changed(trace, m.from, order.clone());
            self.commit_with(tx, id, &[&changed]).await?;
            tracing::info!(order_id = %id, from = %m.from, to = %m.to, ready_by = ?order.ready_by, "kitchen {action}");
            return Ok(order.into());
        }
        Err(error(
            ErrorCode::Unavailable,
            "the order keeps changing, retry",
            &[("order_id", id.to_owned())],
        ))
    }

    async fn accept(&self, req: Request<pb::AcceptOrderRequest>) -> Result<pb::Order, Status> {
        let trace = trace_id(req.metadata());
        let req = req.into_inner();
        let ready_by = validate::ready_by(&req, Utc::now())?;
        let micros = ready_by.timestamp_micros();
        self.kitchen(&trace, &req.id, scope(&req.restaurant_id), "accept", |c| {
            if c.status.transition(OrderStatus::Preparing).is_err() {
                return Err(refused(c.status, "accept"));
            }
            if c.status == OrderStatus::Preparing && c.ready_by == Some(micros) {
                return Ok(Decision::Unchanged);
            }
            Ok(Decision::Move(Move {
                ready_by: Some(micros),
                ..Move::new(c.status, OrderStatus::Preparing)
            }))
        })
        .await
    }

    async fn reject(&self, req: Request<pb::RejectOrderRequest>) -> Result<pb::Order, Status> {
        let trace = trace_id(req.metadata());
        let req = req.into_inner();
        let reason = validate::reason(&req.reason)?;
        self.kitchen(&trace, &req.id, scope(&req.restaurant_id), "reject", |c| {
            c.status
                .transition(OrderStatus::Rejected)
                .map_err(|_| refused(c.status, "reject"))?;
            Ok(Decision::Move(Move {
                rejection_reason: Some(&reason),
                ..Move::new(c.status, OrderStatus::Rejected)
            }))
        })
        .await
    }

    async fn ready(&self, req: Request<pb::MarkReadyRequest>) -> Result<pb::Order, Status> {
        let trace = trace_id(req.metadata());
        let req = req.into_inner();
        self.kitchen(&trace, &req.id, scope(&req.restaurant_id), "ready", |c| {
            c.status
                .transition(OrderStatus::ReadyForPickup)
                .map_err(|_| refused(c.status, "ready"))?;
            Ok(Decision::Move(Move::new(
                c.status,
                OrderStatus::ReadyForPickup,
            )))
        })
        .await
    }

    /// The whole order as `tx` sees it, for the event and the answer.
    async fn load_in(&self, tx: &mut food_kit::Tx, id: &str) -> Result<Order, Status> {
        store::orders_in_tx(tx, &[id])
            .await
            .map_err(db_error)?
            .remove(id)
            .ok_or_else(|| not_found(id))
    }

    /// Enqueues `events` (keyed by order `id`) in `tx`, commits, wakes the relay.
    async fn commit_with(
        &self,
        mut tx: food_kit::Tx,
        id: &str,
        events: &[&Envelope],
    ) -> Result<(), Status> {
        for env in events {
            enqueue(&mut tx, &OutboxMessage::event(&self.topics.orders, id, env))
                .await
                .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        self.waker.wake();
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<pb::Order, Status> {
        store::get_order(&self.db, id)
            .await
            .map_err(db_error)?
            .map(Into::into)
            .ok_or_else(|| not_found(id))
    }
}

/// A restaurant key's scope: an empty id is no scope.
fn scope(restaurant_id: &Option<String>) -> Option<&str> {
    restaurant_id.as_deref().filter(|r| !r.is_empty())
}

/// A kitchen call the state machine refuses: 409, naming the status.
fn refused(status: OrderStatus, action: &str) -> Status {
    error(
        ErrorCode::InvalidTransition,
        format!("the order is {status}; the kitchen cannot {action} it"),
        &[("status", status.as_str().into())],
    )
}

fn not_cancellable(status: OrderStatus) -> Status {
    error(
        ErrorCode::NotCancellable,
        format!("the order is {status}; it can be cancelled only before pick-up"),
        &[("status", status.as_str().into())],
    )
}

fn not_found(id: &str) -> Status {
    error(
        ErrorCode::NotFound,
        format!("no order `{id}`"),
        &[("order_id", id.to_owned())],
    )
}

#[tonic::async_trait]
impl OrderService for OrderApi {
    #[tracing::instrument(skip_all, fields(customer_id = %req.get_ref().customer_id))]
    async fn create_order(
        &self,
        req: Request<CreateOrderRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        self.create(req).await.map(Response::new)
    }

    #[tracing::instrument(skip_all, fields(order_id = %req.get_ref().id))]
    async fn get_order(
        &self,
        req: Request<GetOrderRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        self.get(&req.get_ref().id).await.map(Response::new)
    }

    #[tracing::instrument(skip_all)]
    async fn list_orders(
        &self,
        req: Request<ListOrdersRequest>,
    ) -> Result<Response<ListOrdersResponse>, Status> {
        let req = req.into_inner();
        let r = async {
            let page = Keyset::parse(req.page).map_err(page_error)?;
            let status = status_filter(req.status, food_api::convert::order_status)?;
            let filter = store::OrderFilter {
                customer_id: req.customer_id.as_deref().filter(|c| !c.is_empty()),
                restaurant_id: req.restaurant_id.as_deref().filter(|r| !r.is_empty()),
                status,
                short_id: validate::id_suffix(req.id_suffix.as_deref(), "id_suffix")?,
            };
            let page = store::list_orders(&self.db, &filter, &page)
                .await
                .map_err(db_error)?;
            Ok(ListOrdersResponse {
                orders: page.items.into_iter().map(Into::into).collect(),
                next_cursor: page.next_cursor,
            })
        }
        .await;
        r.map(Response::new)
    }

    #[tracing::instrument(skip_all, fields(order_id = %req.get_ref().id))]
    async fn cancel_order(
        &self,
        req: Request<CancelOrderRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        self.cancel(req).await.map(Response::new)
    }

    #[tracing::instrument(skip_all, fields(order_id = %req.get_ref().id))]
    async fn accept_order(
        &self,
        req: Request<pb::AcceptOrderRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        self.accept(req).await.map(Response::new)
    }

    #[tracing::instrument(skip_all, fields(order_id = %req.get_ref().id))]
    async fn reject_order(
        &self,
        req: Request<pb::RejectOrderRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        self.reject(req).await.map(Response::new)
    }

    #[tracing::instrument(skip_all, fields(order_id = %req.get_ref().id))]
    async fn mark_ready(
        &self,
        req: Request<pb::MarkReadyRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        self.ready(req).await.map(Response::new)
    }
}

/// Random walks of the kitchen's and the customer's calls against the real
/// service on SQLite, checked against docs/design.md section 5.
#[cfg(test)]
mod props {
    use std::sync::Arc;

    use chrono::Duration;
    use food_api::OrderLine;
    use food_kit::{
        db::micros_to_datetime,
        grpc::{
            balance::{BalanceSettings, Balanced},
            error_code,
        },
    };
    use food_proto::menu::v1::menu_service_client::MenuServiceClient;
    use proptest::prelude::*;
    use tonic::Code;

    use super::*;
    use crate::pricing::Kitchen;

    const ORDER: &str = "order-1";

    /// One call of the walk.
    #[derive(Clone, Debug)]
    enum Call {
        Accept { prep_minutes: u32 },
        Reject { reason: String },
        Ready,
        Cancel,
    }

    impl Call {
        /// Where the call asks the order to go.
        fn target(&self) -> OrderStatus {
            match self {
                Self::Accept { .. } => OrderStatus::Preparing,
                Self::Reject { .. } => OrderStatus::Rejected,
                Self::Ready => OrderStatus::ReadyForPickup,
                Self::Cancel => OrderStatus::Cancelled,
            }
        }

        /// docs/design.md 5: "The kitchen moves PLACED → PREPARING (accept
        /// ...) and PREPARING → READY_FOR_PICKUP"; "Accepting a PREPARING
        /// order again changes its ready_by"; "PLACED -> REJECTED (the
        /// kitchen refuses ...)"; "CANCELLED by the customer or ops while
        /// PLACED or PREPARING".
        fn design_allows(&self, from: OrderStatus) -> bool {
            use OrderStatus::*;
            match self {
                Self::Accept { .. } => matches!(from, Placed | Preparing),
                Self::Reject { .. } => from == Placed,
                Self::Ready => from == Preparing,
                Self::Cancel => matches!(from, Placed | Preparing),
            }
        }
    }

    /// Calls that end an order are rarer, so that walks get past PREPARING.
    fn call() -> impl Strategy<Value = Call> {
        prop_oneof![
            4 => prop_oneof![1..=240u32, Just(0u32), 241..400u32]
                .prop_map(|prep_minutes| Call::Accept { prep_minutes }),
            1 => prop_oneof![Just("out of naan".to_owned()), Just("  ".to_owned())]
                .prop_map(|reason| Call::Reject { reason }),
            3 => Just(Call::Ready),
            1 => Just(Call::Cancel),
        ]
    }

    /// A service on a fresh SQLite database holding one PLACED order of
    /// `luca`, a kitchen that accepts by hand. Kitchen calls never read the
    /// menu, so its channel leads nowhere.
    async fn service(dir: &tempfile::TempDir) -> OrderApi {
        let url = format!("sqlite://{}/order.db", dir.path().display());
        let db = Db::connect(&url, &crate::MIGRATIONS).await.unwrap();
        let topics = Topics::with_prefix("props.");
        let waker = Waker::new();
        let channel = Balanced::new(
            "menu",
            "http://127.0.0.1:9",
            Arc::new(|endpoint| endpoint),
            &BalanceSettings::default(),
        )
        .unwrap();
        let menu = MenuItems::new(MenuServiceClient::new(channel), std::time::Duration::ZERO);
        let (committer, _) = Committer::start(db.clone(), topics.clone(), waker.clone());
        let now = micros_to_datetime(Utc::now().timestamp_micros());
        let order = Order {
            id: ORDER.to_owned(),
            customer_id: "rita".to_owned(),
            restaurant_id: Some("luca".to_owned()),
            restaurant_name: Some("Da Luca".to_owned()),
            pickup_address: Some("1 Rue Mercière, Lyon".to_owned()),
            status: OrderStatus::Placed,
            ready_by: None,
            rejection_reason: None,
            items: vec![OrderLine {
                item_id: "margherita".to_owned(),
                name: "Margherita".to_owned(),
                quantity: 1,
                unit_price_cents: 950,
                line_total_cents: 950,
            }],
            total_cents: 950,
            currency: "EUR".to_owned(),
            delivery_address: "1 Main St".to_owned(),
            note: None,
            created_at: now,
            updated_at: now,
        };
        committer
            .store(NewOrder {
                order,
                kitchen: Kitchen::ByHand {
                    deadline: now + Duration::minutes(5),
                },
                idempotency_key: None,
                request_hash: String::new(),
                trace_id: "trace".to_owned(),
            })
            .await
            .unwrap();
        OrderApi::new(db, menu, committer, topics, waker)
    }

    async fn send(
        api: &OrderApi,
        call: &Call,
        restaurant: Option<&str>,
    ) -> Result<pb::Order, Status> {
        let id = ORDER.to_owned();
        let restaurant_id = restaurant.map(str::to_owned);
        match call {
            Call::Accept { prep_minutes } => {
                api.accept(Request::new(pb::AcceptOrderRequest {
                    id,
                    ready_by: None,
                    prep_minutes: Some(*prep_minutes),
                    restaurant_id,
                }))
                .await
            }
            Call::Reject { reason } => {
                api.reject(Request::new(pb::RejectOrderRequest {
                    id,
                    reason: reason.clone(),
                    restaurant_id,
                }))
                .await
            }
            Call::Ready => {
                api.ready(Request::new(pb::MarkReadyRequest { id, restaurant_id }))
                    .await
            }
            Call::Cancel => {
                api.cancel(Request::new(CancelOrderRequest { id, reason: None }))
                    .await
            }
        }
    }

    async fn walk(calls: Vec<(Call, Option<&'static str>)>) -> Result<(), TestCaseError> {
        let dir = tempfile::tempdir().unwrap();
        let api = service(&dir).await;
        for (call, restaurant) in calls {
            let before = store::get_order(&api.db, ORDER).await.unwrap().unwrap();
            let answer = send(&api, &call, restaurant).await;
            let after = store::get_order(&api.db, ORDER).await.unwrap().unwrap();
            let target = call.target();
            let refusal = answer.as_ref().err().map(error_code);
            match answer {
                Ok(_) => {
                    // Cancelling twice is not an error and changes nothing.
                    let again = target == OrderStatus::Cancelled && before.status == target;
                    prop_assert!(
                        call.design_allows(before.status) || again,
                        "{:?} from {}",
                        call,
                        before.status
                    );
                    prop_assert_eq!(after.status, target);
                    prop_assert!(!again || after == before);
                    // Another restaurant's order does not exist for its key.
                    prop_assert!(matches!(call, Call::Cancel) || restaurant != Some("smash"));
                }
                Err(status) => {
                    prop_assert_eq!(&after, &before, "refused {:?} changed the order", call);
                    prop_assert!(
                        !matches!(status.code(), Code::Internal | Code::Unknown),
                        "{:?} answered {:?}",
                        call,
                        status
                    );
                }
            }
            if before.status.is_terminal() {
                prop_assert_eq!(after.status, before.status, "a terminal status stays");
            }
            // Bad input is a 400 whatever the order's state; a valid call on
            // another restaurant's order a 404; one the state refuses a 409.
            let bad_input = match &call {
                Call::Accept { prep_minutes } => !(1..=240).contains(prep_minutes),
                Call::Reject { reason } => reason.trim().is_empty(),
                Call::Ready | Call::Cancel => false,
            };
            let foreign = !matches!(call, Call::Cancel) && restaurant == Some("smash");
            let refused = refusal.map(|(code, _)| code);
            if bad_input {
                prop_assert_eq!(refused, Some(ErrorCode::InvalidArgument));
            } else if foreign {
                prop_assert_eq!(refused, Some(ErrorCode::NotFound));
            } else if !call.design_allows(before.status) && before.status != target {
                prop_assert!(
                    matches!(
                        refused,
                        Some(ErrorCode::InvalidTransition | ErrorCode::NotCancellable)
                    ),
                    "{:?} from {}: {:?}",
                    call,
                    before.status,
                    refused
                );
            }
        }
        Ok(())
    }

    proptest! {
        // Each case starts a database: fewer cases than the default keep
        // this under a few seconds.
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn kitchen_and_customer_calls_only_make_the_moves_the_design_allows(
            calls in proptest::collection::vec(
                (call(), proptest::option::of(proptest::sample::select(vec!["luca", "smash"]))),
                1..20,
            )
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(walk(calls))?;
        }
    }
}
