using AsymCdc.Abstractions;
using AsymCdc.Coding;

namespace AsymCdc.Grains;

/// <summary>The grains' view of the model repository: a name to a model function, and the classifiers it serves with
/// their coding companions. The hosting layer adapts the inference layer's repository to it, so grains never see ONNX.</summary>
public interface IModelCatalog
{
    /// <summary>The model called <paramref name="name"/>; throws naming the model when it is not deployed.</summary>
    IModelFunction Get(string name);

    /// <summary>True where the repository has a model called <paramref name="name"/>.</summary>
    bool Contains(string name);

    /// <summary>The served classifiers, in name order.</summary>
    IReadOnlyList<CodedModel> Served { get; }

    /// <summary>The served classifier called <paramref name="name"/> (repository name or alias), or null.</summary>
    CodedModel? FindServed(string name);
}

/// <summary>Which serving modes a served model supports, from its companions (docs/ARCHITECTURE.md, "Model repository").</summary>
public static class ServedModelModes
{
    /// <summary>The decoder a mode needs; null for the baselines and for auto, which only hedges where it has no decoder
    /// it may code with (AutoCoding).</summary>
    public static DecoderKind? DecoderOf(ServingMode mode) => mode switch
    {
        ServingMode.AsymCdcExact => DecoderKind.Exact,
        ServingMode.AsymCdcCompact => DecoderKind.Compact,
        ServingMode.Parm => DecoderKind.Parm,
        ServingMode.ApproxIfer => DecoderKind.ApproxIfer,
        _ => null,
    };

    /// <summary>What <paramref name="model"/> lacks for <paramref name="mode"/> with groups of <paramref name="k"/>, or null.</summary>
    public static string? Missing(this CodedModel model, ServingMode mode, int k) => model.MissingFor(DecoderOf(mode), k);

    /// <summary>The modes <paramref name="model"/> can be served with at group size <paramref name="k"/>.</summary>
    public static IReadOnlyList<ServingMode> Supported(this CodedModel model, int k) =>
        ServingModes.All.Where(m => model.Missing(m, k) is null).ToArray();

    /// <summary>The mode a request that names none gets: the cluster's default where the model supports it, else hedged,
    /// which every classifier supports and which is the best of the baselines at low extra work.</summary>
    public static ServingMode DefaultFor(this CodedModel model, ServingMode clusterDefault, int k) =>
        model.Missing(clusterDefault, k) is null ? clusterDefault : ServingMode.Hedged;

    /// <summary>Refuses <paramref name="mode"/> for <paramref name="model"/> when it lacks a companion, naming it.</summary>
    public static void EnsureSupports(this CodedModel model, ServingMode mode, int k)
    {
        if (model.Missing(mode, k) is { } missing)
        {
            throw new PredictionException(PredictionErrorCode.ModeNotSupported,
                $"model '{model.PublicName}' cannot be served with mode '{mode.ToName()}' at k = {k}: it needs {missing}, which is not in the model repository; "
                + $"it supports: {string.Join(", ", model.Supported(k).Select(m => m.ToName()))}");
        }
    }
}
