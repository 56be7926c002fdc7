//! Photos as the read API serves them: a rendition, or its thumbnail, to a
//! caller who may see a report that contains it.

use suishoupai_core::photo::{THUMBNAIL_LONG_EDGE, exif, format, render};

use crate::auth;
use crate::blobs::BlobKind;
use crate::error::{Error, Result};
use crate::model::{Scope, User};
use crate::state::AppState;
use crate::storage;

const THUMBNAIL_QUALITY: u8 = 75;

/// The rendition of a photo the caller may see; 404 otherwise.
pub async fn rendition(app: &AppState, user: &User, sha256: String) -> Result<Vec<u8>> {
    rendition_within(app, auth::scope(user), sha256).await
}

/// The rendition of a photo of a report within `scope`; 404 otherwise.
pub async fn rendition_within(app: &AppState, scope: Scope, sha256: String) -> Result<Vec<u8>> {
    check_visible(app, scope, &sha256).await?;
    let key = sha256.clone();
    app.blob(move |b| b.get(BlobKind::Photo, &key)).await?.ok_or_else(|| Error::Internal(format!("photo {sha256} has a row but no file")))
}

/// The thumbnail of a photo the caller may see; 404 otherwise.
pub async fn thumbnail_for(app: &AppState, user: &User, sha256: String) -> Result<Vec<u8>> {
    check_visible(app, auth::scope(user), &sha256).await?;
    thumbnail(app, sha256.clone()).await?.ok_or_else(|| Error::Internal(format!("photo {sha256} has a row but no file")))
}

/// 404 unless a report the caller may see contains the photo.
async fn check_visible(app: &AppState, scope: Scope, sha256: &str) -> Result<()> {
    let key = sha256.to_owned();
    if !app.db(move |s| storage::read(s, |tx| Ok(tx.photo_visible(&scope, &key)?))).await? {
        return Err(Error::NotFound(format!("no photo {sha256}")));
    }
    Ok(())
}

/// The thumbnail of a stored photo, made and stored on first request.
/// `None` if the photo itself is not stored. A photo whose thumbnail cannot
/// be made (stored before uploads were decoded on arrival) is remembered as
/// such, and answered at once from then on instead of decoded again.
async fn thumbnail(app: &AppState, sha256: String) -> Result<Option<Vec<u8>>> {
    let key = sha256.clone();
    if let Some(reason) = app.db(move |s| storage::read(s, |tx| Ok(tx.thumbnail_error(&key)?))).await? {
        return Err(Error::BadPhoto(reason));
    }
    let made = app
        .blob(move |b| {
            if let Some(thumbnail) = b.get(BlobKind::Thumbnail, &sha256)? {
                return Ok(Some(Ok(thumbnail)));
            }
            let Some(photo) = b.get(BlobKind::Photo, &sha256)? else { return Ok(None) };
            let thumbnail = match make_thumbnail(&photo) {
                Ok(thumbnail) => thumbnail,
                Err(reason) => return Ok(Some(Err((sha256, reason)))),
            };
            // Two requests racing here both make it; the second put keeps the first.
            b.put(BlobKind::Thumbnail, &sha256, &thumbnail)?;
            Ok(Some(Ok(thumbnail)))
        })
        .await?;
    match made {
        None => Ok(None),
        Some(Ok(thumbnail)) => Ok(Some(thumbnail)),
        Some(Err((sha256, reason))) => {
            let remembered = reason.clone();
            app.db(move |s| storage::write(s, |tx| Ok(tx.set_thumbnail_error(&sha256, &remembered)?))).await?;
            Err(Error::BadPhoto(reason))
        }
    }
}

fn make_thumbnail(photo: &[u8]) -> Result<Vec<u8>, String> {
    let bad = |e: suishoupai_core::Error| format!("the stored photo cannot be decoded for a thumbnail: {e}");
    let header = format::read_header(photo).map_err(bad)?;
    let decoded = render::decode_at_least(photo, header, THUMBNAIL_LONG_EDGE).map_err(bad)?;
    // Photos stored before uploads were checked may still carry an EXIF
    // orientation, which the thumbnail should honour.
    let pixels = render::make_upright(render::shrink_to_fit(decoded, THUMBNAIL_LONG_EDGE), exif::read(photo).orientation);
    render::encode_jpeg(&pixels, THUMBNAIL_QUALITY).map_err(bad)
}
