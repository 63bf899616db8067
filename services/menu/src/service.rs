//! The `food.menu.v1.MenuService` handlers: each parses its request, asks
//! the store; calls are counted and timed by the gRPC host's layer.

use std::{collections::HashSet, future::Future};

use food_api::page::wire_limit;
use food_kit::grpc::trace_id;
use food_proto::menu::v1::{
    BatchGetItemsRequest, BatchGetItemsResponse, GetItemRequest, GetRestaurantRequest,
    ImportItemsRequest, ImportItemsResponse, Item, ListItemsRequest, ListItemsResponse,
    ListRestaurantsRequest, ListRestaurantsResponse, Restaurant, SetRestaurantOpenRequest,
    menu_service_server::MenuService,
};
use tonic::{Request, Response, Status};

use crate::{
    domain::{self, category_key},
    error::MenuError,
    page::{Cursor, RestaurantCursor},
    store::{self, ListFilter, RestaurantFilter, Store},
};

/// Most ids in one `BatchGetItems`; an order holds far fewer lines.
pub const MAX_BATCH_IDS: usize = 1000;
/// Longest `query` text, in characters.
const MAX_QUERY_LEN: usize = 200;

/// The gRPC API over the menu store.
#[derive(Clone, Debug)]
pub struct MenuApi {
    store: Store,
}

impl MenuApi {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    async fn list_restaurants(
        &self,
        req: ListRestaurantsRequest,
    ) -> Result<ListRestaurantsResponse, MenuError> {
        let page = req.page.unwrap_or_default();
        let limit = wire_limit(page.limit).map_err(MenuError::page)?;
        let after = RestaurantCursor::decode(&page.cursor).map_err(MenuError::page)?;
        // An empty filter value means "no filter": clients pass empty strings for unset fields.
        let filter = RestaurantFilter {
            cuisine_key: req
                .cuisine
                .as_deref()
                .map(category_key)
                .filter(|c| !c.is_empty()),
            open_only: req.open_only.unwrap_or(false),
            query: query_filter(req.query.as_deref())?,
        };
        let page = self
            .store
            .list_restaurants(&filter, after.as_ref(), limit)
            .await?;
        tracing::Span::current().record("returned", page.restaurants.len());
        Ok(ListRestaurantsResponse {
            restaurants: page.restaurants,
            next_cursor: page.next.map(|c| c.encode()),
        })
    }

    async fn get_restaurant(&self, req: GetRestaurantRequest) -> Result<Restaurant, MenuError> {
        if req.id.is_empty() {
            return Err(MenuError::invalid("id", "must not be empty"));
        }
        self.store
            .get_restaurant(&req.id)
            .await?
            .ok_or(MenuError::RestaurantNotFound(req.id))
    }

    async fn set_open(&self, req: SetRestaurantOpenRequest) -> Result<Restaurant, MenuError> {
        if req.id.is_empty() {
            return Err(MenuError::invalid("id", "must not be empty"));
        }
        let restaurant = self
            .store
            .set_open(&req.id, req.open)
            .await?
            .ok_or(MenuError::RestaurantNotFound(req.id))?;
        tracing::info!(
            restaurant_id = %restaurant.id,
            open = restaurant.open,
            "restaurant opened or paused"
        );
        Ok(restaurant)
    }

    async fn list(&self, req: ListItemsRequest) -> Result<ListItemsResponse, MenuError> {
        let page = req.page.unwrap_or_default();
        let limit = wire_limit(page.limit).map_err(MenuError::page)?;
        let after = Cursor::decode(&page.cursor).map_err(MenuError::page)?;
        let query = query_filter(req.query.as_deref())?;
        // An empty filter value means "no filter": clients pass empty strings for unset fields.
        let restaurant_id = req.restaurant_id.filter(|r| !r.is_empty());
        let filter = ListFilter {
            restaurant_id: restaurant_id.clone(),
            category_key: req
                .category
                .as_deref()
                .map(category_key)
                .filter(|c| !c.is_empty()),
            available_only: req.available_only.unwrap_or(false),
            query,
        };
        let page = self.store.list(&filter, after.as_ref(), limit).await?;
        // The menu of an unknown restaurant is NOT_FOUND rather than empty, so
        // a mistyped id is told apart from a kitchen with nothing matching
        // (and `GET /restaurants/:id/menu` can answer 404). The lookup runs
        // only on an empty page, keeping the common read to one query.
        if let Some(id) = restaurant_id
            && page.items.is_empty()
            && self.store.get_restaurant(&id).await?.is_none()
        {
            return Err(MenuError::RestaurantNotFound(id));
        }
        tracing::Span::current().record("returned", page.items.len());
        Ok(ListItemsResponse {
            items: page.items,
            next_cursor: page.next.map(|c| c.encode()),
        })
    }

    async fn get(&self, req: GetItemRequest) -> Result<Item, MenuError> {
        if req.id.is_empty() {
            return Err(MenuError::invalid("id", "must not be empty"));
        }
        self.store
            .get(&req.id)
            .await?
            .ok_or(MenuError::NotFound(req.id))
    }

    async fn batch_get(
        &self,
        req: BatchGetItemsRequest,
    ) -> Result<BatchGetItemsResponse, MenuError> {
        if req.ids.len() > MAX_BATCH_IDS {
            return Err(MenuError::invalid(
                "ids",
                format!("at most {MAX_BATCH_IDS} ids, got {}", req.ids.len()),
            ));
        }
        let mut seen = HashSet::with_capacity(req.ids.len());
        let ids: Vec<String> = req
            .ids
            .into_iter()
            .filter(|id| seen.insert(id.clone()))
            .collect();
        let items = self.store.get_many(&ids).await?;
        let found: HashSet<&str> = items.iter().map(|i| i.id.as_str()).collect();
        let missing_ids = ids
            .iter()
            .filter(|id| !found.contains(id.as_str()))
            .cloned()
            .collect();
        // One query for all the restaurants, so an order is checked and priced in one call.
        let restaurants = self
            .store
            .get_restaurants(&store::restaurant_ids(&items))
            .await?;
        Ok(BatchGetItemsResponse {
            items,
            missing_ids,
            restaurants,
        })
    }

    async fn import(&self, req: ImportItemsRequest) -> Result<ImportItemsResponse, MenuError> {
        let import = domain::parse_import(req.restaurants, req.items)?;
        let counts = self.store.import(&import).await?;
        tracing::info!(
            restaurants_created = counts.restaurants.created,
            restaurants_updated = counts.restaurants.updated,
            created = counts.items.created,
            updated = counts.items.updated,
            "menu imported"
        );
        // The counts are of items, as before restaurants (see menu.proto).
        Ok(ImportItemsResponse {
            created: counts.items.created,
            updated: counts.items.updated,
        })
    }
}

#[tonic::async_trait]
impl MenuService for MenuApi {
    #[tracing::instrument(skip_all, fields(
        rpc = "ListRestaurants",
        trace_id = %trace_id(request.metadata()),
        cuisine = request.get_ref().cuisine.as_deref().unwrap_or_default(),
        open_only = request.get_ref().open_only.unwrap_or_default(),
        query = request.get_ref().query.as_deref().unwrap_or_default(),
        limit = request.get_ref().page.as_ref().map_or(0, |p| p.limit),
        returned = tracing::field::Empty,
    ))]
    async fn list_restaurants(
        &self,
        request: Request<ListRestaurantsRequest>,
    ) -> Result<Response<ListRestaurantsResponse>, Status> {
        respond(self.list_restaurants(request.into_inner())).await
    }

    #[tracing::instrument(skip_all, fields(
        rpc = "GetRestaurant",
        trace_id = %trace_id(request.metadata()),
        restaurant_id = %request.get_ref().id,
    ))]
    async fn get_restaurant(
        &self,
        request: Request<GetRestaurantRequest>,
    ) -> Result<Response<Restaurant>, Status> {
        respond(self.get_restaurant(request.into_inner())).await
    }

    #[tracing::instrument(skip_all, fields(
        rpc = "SetRestaurantOpen",
        trace_id = %trace_id(request.metadata()),
        restaurant_id = %request.get_ref().id,
        open = request.get_ref().open,
    ))]
    async fn set_restaurant_open(
        &self,
        request: Request<SetRestaurantOpenRequest>,
    ) -> Result<Response<Restaurant>, Status> {
        respond(self.set_open(request.into_inner())).await
    }

    #[tracing::instrument(skip_all, fields(
        rpc = "ListItems",
        trace_id = %trace_id(request.metadata()),
        restaurant_id = request.get_ref().restaurant_id.as_deref().unwrap_or_default(),
        category = request.get_ref().category.as_deref().unwrap_or_default(),
        available_only = request.get_ref().available_only.unwrap_or_default(),
        query = request.get_ref().query.as_deref().unwrap_or_default(),
        limit = request.get_ref().page.as_ref().map_or(0, |p| p.limit),
        returned = tracing::field::Empty,
    ))]
    async fn list_items(
        &self,
        request: Request<ListItemsRequest>,
    ) -> Result<Response<ListItemsResponse>, Status> {
        respond(self.list(request.into_inner())).await
    }

    #[tracing::instrument(skip_all, fields(
        rpc = "GetItem",
        trace_id = %trace_id(request.metadata()),
        item_id = %request.get_ref().id,
    ))]
    async fn get_item(&self, request: Request<GetItemRequest>) -> Result<Response<Item>, Status> {
        respond(self.get(request.into_inner())).await
    }

    #[tracing::instrument(skip_all, fields(
        rpc = "BatchGetItems",
        trace_id = %trace_id(request.metadata()),
        ids = request.get_ref().ids.len(),
    ))]
    async fn batch_get_items(
        &self,
        request: Request<BatchGetItemsRequest>,
    ) -> Result<Response<BatchGetItemsResponse>, Status> {
        respond(self.batch_get(request.into_inner())).await
    }

    #[tracing::instrument(skip_all, fields(
        rpc = "ImportItems",
        trace_id = %trace_id(request.metadata()),
        items = request.get_ref().items.len(),
        restaurants = request.get_ref().restaurants.len(),
    ))]
    async fn import_items(
        &self,
        request: Request<ImportItemsRequest>,
    ) -> Result<Response<ImportItemsResponse>, Status> {
        respond(self.import(request.into_inner())).await
    }
}

/// The lower-cased `query` text, `None` when absent or blank.
fn query_filter(query: Option<&str>) -> Result<Option<String>, MenuError> {
    let query = query.map(str::trim).unwrap_or_default();
    if query.chars().count() > MAX_QUERY_LEN {
        return Err(MenuError::invalid(
            "query",
            format!("must be at most {MAX_QUERY_LEN} characters"),
        ));
    }
    Ok(Some(query.to_lowercase()).filter(|q| !q.is_empty()))
}

/// Runs a handler and turns its error into a `Status`.
async fn respond<T>(
    handler: impl Future<Output = Result<T, MenuError>>,
) -> Result<Response<T>, Status> {
    handler.await.map(Response::new).map_err(Status::from)
}
