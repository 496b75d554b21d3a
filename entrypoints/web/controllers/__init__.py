"""One controller per resource; each is thin: request DTO -> use case -> response DTO."""
