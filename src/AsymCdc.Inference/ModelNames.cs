namespace AsymCdc.Inference;

/// <summary>The names of the models in the repository (docs/ARCHITECTURE.md, "Model repository").</summary>
public static class ModelNames
{
    /// <summary>The deployed invertible classifier: image → logits + feature map z.</summary>
    public const string Classifier = "fmnist-inn";

    /// <summary>The classifier's inverse: feature map z → image.</summary>
    public const string Inverse = "fmnist-inn-inverse";

    /// <summary>Smallest and largest k with a compact decoder.</summary>
    public const int MinK = 2;
    public const int MaxK = 4;

    /// <summary>The compact decoder distilled for groups of <paramref name="k"/> data queries.</summary>
    public static string Compact(int k) =>
        k is >= MinK and <= MaxK
            ? $"fmnist-compact-k{k}"
            : throw new ArgumentOutOfRangeException(nameof(k), k, $"Compact decoders exist for k = {MinK}..{MaxK}.");

    /// <summary>The ParM parity model learned for groups of <paramref name="k"/> (the baseline; k = 2 or 4).</summary>
    public static string Parm(int k) =>
        k is 2 or 4
            ? $"fmnist-parm-k{k}"
            : throw new ArgumentOutOfRangeException(nameof(k), k, "ParM parity models exist for k = 2 and 4.");
}
