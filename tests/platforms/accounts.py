"""The test accounts the fake platform is set up with, and the images the tests publish."""

from fakeplatform.images import tiny_jpeg

X_ACCOUNT = "1500000000000000001"
PAGE_ID = "104000000000001"
IG_USER = "17841400000000001"

X_CREDENTIALS = {
    "consumer_key": "ck-council-app",
    "consumer_secret": "cs-very-secret-consumer",
    "access_token": f"{X_ACCOUNT}-at-secret-token",
    "access_token_secret": "ats-very-secret-token",
}
PAGE_TOKEN = "EAAPageTokenVerySecret123"
IG_TOKEN = "EAAInstagramTokenSecret456"
ALL_SECRETS = [*X_CREDENTIALS.values(), PAGE_TOKEN, IG_TOKEN]

JPEG = tiny_jpeg(3)
OTHER_JPEG = tiny_jpeg(-2)
