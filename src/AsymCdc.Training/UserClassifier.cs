using AsymCdc.Coding;
using AsymCdc.Inference;
using AsymCdc.Inference.Data;

namespace AsymCdc.Training;

/// <summary>
/// A user's classifier as the decoders see it, on the product's ONNX Runtime session: output 0 is its logits, output 1
/// the member output the compact decoders read (its features, or the logits again with <c>--logits-only</c>). That is
/// the layout <see cref="AsymCdc.Coding.Evaluation.DegradedModeEvaluator"/> and <see cref="CompactDecoder"/> expect of
/// the deployed model, whatever order the user's graph declares its outputs in.
/// </summary>
public sealed class UserClassifier : IModelFunction
{
    private readonly OnnxModelFunction _function;
    private readonly int _logitsIndex;
    private readonly int _memberIndex;
    private readonly int[] _outputLengths;

    private UserClassifier(OnnxModelFunction function, int logitsIndex, int memberIndex)
    {
        _function = function;
        _logitsIndex = logitsIndex;
        _memberIndex = memberIndex;
        _outputLengths = [function.Config.Outputs[logitsIndex].ItemLength, function.Config.Outputs[memberIndex].ItemLength];
    }

    public string Name => _function.Name;

    public int InputLength => _function.InputLength;

    public IReadOnlyList<int> OutputLengths => _outputLengths;

    public ModelConfig Config => _function.Config;

    public TensorConfig Input => _function.Config.Input;

    public TensorConfig Logits => _function.Config.Outputs[_logitsIndex];

    /// <summary>The output the compact decoders stack (the logits themselves when <see cref="LogitsOnly"/>).</summary>
    public TensorConfig Member => _function.Config.Outputs[_memberIndex];

    public bool LogitsOnly => _logitsIndex == _memberIndex;

    public int Classes => _outputLengths[0];

    /// <summary>One item's member-output shape, without the batch axis.</summary>
    public IReadOnlyList<int> MemberShape => [.. Member.Dims.Skip(1).Select(d => checked((int)d))];

    /// <summary>One item's input shape, without the batch axis.</summary>
    public IReadOnlyList<int> InputShape => [.. Input.Dims.Skip(1).Select(d => checked((int)d))];

    public int MaxBatchSize => _function.Config.MaxBatchSize;

    public async ValueTask<float[][]> RunAsync(ReadOnlyMemory<float> inputs, int count, CancellationToken cancellationToken = default)
    {
        var outputs = await _function.RunAsync(inputs, count, cancellationToken).ConfigureAwait(false);
        return [outputs[_logitsIndex], outputs[_memberIndex]];
    }

    /// <summary>
    /// Binds <paramref name="model"/> (already loaded in <paramref name="repository"/>): finds its logits output and the
    /// output the decoders read. Throws <see cref="DecoderTrainingException"/> naming the model's outputs when one is
    /// missing or has the wrong shape.
    /// </summary>
    public static UserClassifier Bind(ModelRepository repository, DecoderTrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(repository);
        ArgumentNullException.ThrowIfNull(options);
        var function = repository.GetFunction(options.Model);
        var config = function.Config;
        var outputs = string.Join(", ", config.Outputs.Select(o => $"{o.Name} [{string.Join(',', o.Dims)}]"));
        if (config.Role != ModelRole.Classifier)
        {
            throw new DecoderTrainingException(
                $"Model '{config.Name}' has role '{config.Role}' in its config.json; decoders are trained for a classifier (role \"classifier\").");
        }

        var logitsIndex = IndexOf(config, options.LogitsOutput);
        if (logitsIndex < 0 && options.LogitsOutput == DecoderTrainingOptions.DefaultLogitsOutput && config.Outputs.Count == 1)
        {
            logitsIndex = 0; // a model with one output: that is its logits, whatever its name
        }

        if (logitsIndex < 0)
        {
            throw new DecoderTrainingException(
                $"Model '{config.Name}' has no output '{options.LogitsOutput}' (its outputs: {outputs}); name its logits output with --logits-output NAME.");
        }

        var logits = config.Outputs[logitsIndex];
        if (logits.Dims.Count != 2 || logits.Dims[1] < 2)
        {
            throw new DecoderTrainingException(
                $"Model '{config.Name}': its logits output '{logits.Name}' has dims [{string.Join(',', logits.Dims)}]; logits must be [-1, classes] with at least 2 classes.");
        }

        int memberIndex;
        if (options.LogitsOnly)
        {
            memberIndex = logitsIndex;
        }
        else if (options.FeatureOutput is { } feature)
        {
            memberIndex = IndexOf(config, feature);
            if (memberIndex < 0)
            {
                throw new DecoderTrainingException(
                    $"Model '{config.Name}' has no output '{feature}' (its outputs: {outputs}); pass one of them to --feature-output, or --logits-only to decode from the logits alone.");
            }
        }
        else
        {
            memberIndex = IndexOf(config, DecoderTrainingOptions.DefaultFeatureOutput);
            if (memberIndex < 0)
            {
                throw new DecoderTrainingException(
                    $"Model '{config.Name}' has no output '{DecoderTrainingOptions.DefaultFeatureOutput}' (its outputs: {outputs}); name the output its decoders should read with --feature-output NAME, or pass --logits-only.");
            }
        }

        return new UserClassifier(function, logitsIndex, memberIndex);
    }

    /// <summary>Checks that <paramref name="data"/> fits the model: the item shape is the model's input shape and the
    /// labels are within its classes. Throws <see cref="DecoderTrainingException"/> naming both shapes.</summary>
    public void CheckData(TrainingData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var shape = data.Train.ItemShape;
        if (!shape.SequenceEqual(InputShape))
        {
            throw new DecoderTrainingException(
                $"--data {data.Name} holds items of shape [{string.Join(',', shape)}] ({data.Train.ItemLength} floats), but model '{Name}' takes input '{Input.Name}' [{string.Join(',', Input.Dims)}] ({InputLength} floats per item); pass data of the model's input shape.");
        }

        if (data.Train.Classes > Classes || data.Test.Classes > Classes)
        {
            throw new DecoderTrainingException(
                $"--data {data.Name} has {Math.Max(data.Train.Classes, data.Test.Classes)} classes, but model '{Name}' outputs {Classes} logits ('{Logits.Name}').");
        }
    }

    private static int IndexOf(ModelConfig config, string name)
    {
        for (var i = 0; i < config.Outputs.Count; i++)
        {
            if (string.Equals(config.Outputs[i].Name, name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
