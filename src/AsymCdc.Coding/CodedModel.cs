namespace AsymCdc.Coding;

/// <summary>
/// A served classifier as the coded modes see it: its one input, which of its outputs holds the logits and which one
/// the decoders read per member, and its coding companions from the model repository — the inverse (exact decoding),
/// the compact decoders per k and the ParM parity models per k. Which modes the model supports follows from them
/// (<see cref="MissingFor"/>): the baselines and ApproxIFER need nothing, the others their companions.
/// </summary>
public sealed record CodedModel
{
    /// <summary>The classifier's repository name (its folder), e.g. <c>fmnist-inn</c>.</summary>
    public required string Name { get; init; }

    /// <summary>Other names it is served under; the first is its public name (<c>fmnist</c> for <c>fmnist-inn</c>).</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    public required string InputName { get; init; }

    /// <summary>One item's shape, without the batch axis, e.g. [1, 28, 28].</summary>
    public required IReadOnlyList<int> InputShape { get; init; }

    /// <summary>The values the input accepts, where the config declares them.</summary>
    public (float Min, float Max)? InputRange { get; init; }

    /// <summary>Output names in the graph's declared order.</summary>
    public required IReadOnlyList<string> Outputs { get; init; }

    /// <summary>The output holding the logits (named <c>logits</c>, else the first).</summary>
    public int LogitsOutput { get; init; }

    /// <summary>The output the decoders read per member (the compact decoders' <c>serves_output</c>, or the inverse's
    /// input); null when no companion reads one.</summary>
    public int? FeaturesOutput { get; init; }

    /// <summary>Floats per item of each output, in <see cref="Outputs"/> order.</summary>
    public required IReadOnlyList<int> OutputLengths { get; init; }

    public int Classes => OutputLengths[LogitsOutput];

    /// <summary>The inverse graph (z → x) for exact decoding, if deployed.</summary>
    public string? Inverse { get; init; }

    /// <summary>Compact decoders by group size k.</summary>
    public IReadOnlyDictionary<int, string> Compact { get; init; } = new Dictionary<int, string>();

    /// <summary>ParM parity models by group size k.</summary>
    public IReadOnlyDictionary<int, string> Parity { get; init; } = new Dictionary<int, string>();

    /// <summary>Each decoder's recorded agreement of its reconstructions with this model's own answers on its test set
    /// (config.json <c>agreement</c> of a compact decoder or parity model), by the decoder's name.</summary>
    public IReadOnlyDictionary<string, double> Agreements { get; init; } = new Dictionary<string, double>();

    /// <summary>The recorded agreement of decoder <paramref name="companion"/>, or null where its config has none.</summary>
    public double? AgreementOf(string companion) => Agreements.TryGetValue(companion, out var a) ? a : null;

    /// <summary>Where its test data is (config.json <c>dataset</c>), if declared.</summary>
    public string? Dataset { get; init; }

    /// <summary>The name the gateway lists it under: its first alias, else its repository name.</summary>
    public string PublicName => Aliases.Count > 0 ? Aliases[0] : Name;

    public int InputLength
    {
        get
        {
            var length = 1;
            foreach (var d in InputShape)
            {
                length *= d;
            }

            return length;
        }
    }

    /// <summary>True for its repository name and each alias.</summary>
    public bool IsCalled(string name)
    {
        if (string.Equals(name, Name, StringComparison.Ordinal))
        {
            return true;
        }

        foreach (var alias in Aliases)
        {
            if (string.Equals(name, alias, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>What this model lacks for <paramref name="decoder"/> with groups of up to <paramref name="k"/> data
    /// queries, or null when it has everything; null <paramref name="decoder"/> is a mode with no decoder of its own
    /// (the baselines, ApproxIFER), which every classifier supports.</summary>
    public string? MissingFor(DecoderKind? decoder, int k)
    {
        switch (decoder)
        {
            case DecoderKind.Exact when Inverse is null || FeaturesOutput is null:
                return $"an inverse of '{Name}' (a model with role 'inverse' and \"serves\": \"{Name}\") for exact decoding";
            case DecoderKind.Compact when Inverse is null:
                for (var g = 2; g <= k; g++)
                {
                    if (!Compact.ContainsKey(g))
                    {
                        return $"a compact decoder of '{Name}' for groups of {g} (role 'compact-decoder', \"serves\": \"{Name}\", \"k\": {g}; "
                            + "asymcdc train-decoders makes them)";
                    }
                }

                return FeaturesOutput is null ? $"the output of '{Name}' its compact decoders read (\"serves_output\")" : null;
            case DecoderKind.Parm when !Parity.ContainsKey(k):
                return $"a ParM parity model of '{Name}' for k = {k} (role 'parity-model', \"serves\": \"{Name}\", \"k\": {k}; "
                    + "asymcdc train-decoders --parm makes them)";
            default:
                return null;
        }
    }
}

/// <summary>A served classifier's graph as the decoders and the evaluator read it: outputs [logits, features] (the
/// features output only where its decoders read one), whatever order the graph declares them in.</summary>
public sealed class CodedClassifier : IModelFunction
{
    private readonly IModelFunction _function;
    private readonly int _logits;
    private readonly int? _features;
    private readonly int[] _lengths;

    public CodedClassifier(IModelFunction function, CodedModel model)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(model);
        _function = function;
        (_logits, _features) = (model.LogitsOutput, model.FeaturesOutput);
        _lengths = _features is { } f ? [function.OutputLengths[_logits], function.OutputLengths[f]] : [function.OutputLengths[_logits]];
    }

    public string Name => _function.Name;

    public int InputLength => _function.InputLength;

    public IReadOnlyList<int> OutputLengths => _lengths;

    public async ValueTask<float[][]> RunAsync(ReadOnlyMemory<float> inputs, int count, CancellationToken cancellationToken = default)
    {
        var outputs = await _function.RunAsync(inputs, count, cancellationToken).ConfigureAwait(false);
        return Select(outputs);
    }

    public async ValueTask<float[][]> RunParityAsync(ReadOnlyMemory<float> inputs, int count, CancellationToken cancellationToken = default)
    {
        var outputs = await _function.RunParityAsync(inputs, count, cancellationToken).ConfigureAwait(false);
        return Select(outputs);
    }

    private float[][] Select(float[][] outputs) => _features is { } f ? [outputs[_logits], outputs[f]] : [outputs[_logits]];
}
