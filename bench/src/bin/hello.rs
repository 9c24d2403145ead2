//! The P1 baseline: the smallest axum server, with the same runtime and
//! socket settings as Railyard, answering `Hello, world!` on `--addr`.

use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args().skip_while(|a| a != "--addr").nth(1).unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    let app = Router::new().route("/", get(|| async { "Hello, world!" }));
    axum::serve(listener, app).await?;
    Ok(())
}
