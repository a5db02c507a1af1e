using System.Globalization;
using AsymCdc.Abstractions;
using AsymCdc.Coding;

namespace AsymCdc.Grains;

/// <summary>Checks a request before it costs anything: model, shape, values and mode. Every refusal names the
/// problem and what to send instead.</summary>
public static class RequestValidator
{
    /// <summary>Validates <paramref name="request"/> against the model it names among <paramref name="served"/>, which it returns.</summary>
    public static CodedModel Validate(PredictionRequest? request, IReadOnlyList<CodedModel> served)
    {
        ArgumentNullException.ThrowIfNull(served);
        if (request is null)
        {
            throw Invalid("the request is null; send a PredictionRequest with a model name and its input tensor");
        }

        CodedModel? model = null;
        foreach (var candidate in served)
        {
            if (request.Model is not null && candidate.IsCalled(request.Model))
            {
                model = candidate;
                break;
            }
        }

        if (model is null)
        {
            throw new PredictionException(PredictionErrorCode.UnknownModel,
                $"unknown model '{request.Model}'; this cluster serves: {string.Join(", ", served.SelectMany(m => m.Aliases.Prepend(m.Name)))}");
        }

        ValidateInput(request.Input, model);
        if (request.Mode is { } mode && !Enum.IsDefined(mode))
        {
            throw new PredictionException(PredictionErrorCode.UnknownMode,
                $"unknown serving mode {(int)mode}; expected one of: {string.Join(", ", ServingModes.All.Select(m => m.ToName()))}");
        }

        if (request.Timeout is { } timeout && timeout <= TimeSpan.Zero)
        {
            throw Invalid($"the timeout {timeout} is not positive; leave it out for the cluster's default or give a positive time");
        }

        return model;
    }

    /// <summary>The input must have the model's item shape (or be flat of its length), and finite values in its range.</summary>
    public static void ValidateInput(Tensor? input, CodedModel model)
    {
        var expected = $"[{string.Join(',', model.InputShape)}]";
        var range = model.InputRange is { } r ? string.Create(CultureInfo.InvariantCulture, $" in [{r.Min}, {r.Max}]") : "";
        if (input?.Data is null)
        {
            throw Invalid($"the request has no input; model '{model.PublicName}' takes {model.InputLength} float32 values of shape {expected}{range}");
        }

        if (input.Data.Length != model.InputLength)
        {
            throw Invalid($"the input has {input.Data.Length} floats; model '{model.PublicName}' takes {model.InputLength} (shape {expected}, row-major{range})");
        }

        if (input.Shape is null || !(SameShape(input.Shape, model.InputShape) || input.Shape is [var n] && n == model.InputLength))
        {
            throw Invalid($"the input's shape is {input.ShapeText}; model '{model.PublicName}' takes {expected} (or a flat [{model.InputLength}])");
        }

        var data = input.Data;
        var (min, max) = model.InputRange ?? (float.NegativeInfinity, float.PositiveInfinity);
        for (var i = 0; i < data.Length; i++)
        {
            var v = data[i];
            if (!float.IsFinite(v))
            {
                throw Invalid($"input[{i}] is {v}; every value must be a finite number{range}");
            }

            if (v < min || v > max)
            {
                throw Invalid(string.Create(CultureInfo.InvariantCulture,
                    $"input[{i}] = {v} is outside [{min}, {max}], the range of model '{model.PublicName}'{(model.InputRange == (0f, 1f) ? "; send raw pixels scaled to [0, 1] (divide bytes by 255)" : "")}"));
            }
        }
    }

    private static bool SameShape(int[] shape, IReadOnlyList<int> expected)
    {
        if (shape.Length != expected.Count)
        {
            return false;
        }

        for (var i = 0; i < shape.Length; i++)
        {
            if (shape[i] != expected[i])
            {
                return false;
            }
        }

        return true;
    }

    private static PredictionException Invalid(string message) => new(PredictionErrorCode.InvalidInput, message);
}
