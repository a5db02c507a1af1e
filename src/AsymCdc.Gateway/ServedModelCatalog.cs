namespace AsymCdc.Gateway;

/// <summary>
/// The models the gateway serves, by name: what <c>/v2/models/{name}</c>, <c>/v2/repository/index</c> and the gRPC
/// service answer for. The default holds every <see cref="ServedModel"/> registered in the container
/// (<c>services.AddAsymCdcGatewayModel</c>), Fashion-MNIST unless the host registers others; a host whose models come
/// from elsewhere (a model repository, a config file) registers its own catalogue.
/// </summary>
public interface IServedModelCatalog
{
    /// <summary>Every served model, in a stable order (the repository index lists them so).</summary>
    IReadOnlyList<ServedModel> Models { get; }

    ServedModel? Find(string name);
}

/// <summary>A fixed list of models, checked when it is built: a model the gateway could not serve stops the host.</summary>
public sealed class ServedModelCatalog : IServedModelCatalog
{
    private readonly Dictionary<string, ServedModel> _byName = new(StringComparer.Ordinal);

    public ServedModelCatalog(IEnumerable<ServedModel> models)
    {
        ArgumentNullException.ThrowIfNull(models);
        var list = new List<ServedModel>();
        foreach (var model in models)
        {
            if (model.Problem() is { } problem)
            {
                throw new InvalidOperationException($"The gateway cannot serve {problem}.");
            }

            if (!_byName.TryAdd(model.Name, model))
            {
                throw new InvalidOperationException($"The gateway has model '{model.Name}' registered twice; register each model once.");
            }

            list.Add(model);
        }

        if (list.Count == 0)
        {
            throw new InvalidOperationException("The gateway has no models to serve; register at least one (services.AddAsymCdcGatewayModel).");
        }

        Models = list;
    }

    public IReadOnlyList<ServedModel> Models { get; }

    public ServedModel? Find(string name) => _byName.GetValueOrDefault(name);
}

/// <summary>A model and version looked up for a request: the model, or why there is none (HTTP 404, gRPC NOT_FOUND).</summary>
internal readonly record struct ModelLookup(ServedModel? Model, string Version, string? NotFound)
{
    /// <summary><paramref name="version"/> null or empty: the model's first version.</summary>
    public static ModelLookup Find(IServedModelCatalog catalog, string? name, string? version)
    {
        var model = name is null ? null : catalog.Find(name);
        if (model is null)
        {
            var served = string.Join(", ", catalog.Models.Select(m => $"'{m.Name}'"));
            return new(null, "", $"unknown model '{name}'; this gateway serves {served}");
        }

        if (string.IsNullOrEmpty(version))
        {
            return new(model, model.DefaultVersion, null);
        }

        if (!model.Versions.Contains(version, StringComparer.Ordinal))
        {
            var versions = model.Versions.Count == 1 ? $"version {model.Versions[0]}" : $"versions {string.Join(", ", model.Versions)}";
            return new(null, "", $"unknown version '{version}' of model '{model.Name}'; this gateway serves {versions}");
        }

        return new(model, version, null);
    }
}
